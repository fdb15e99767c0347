"""The sign-in page: CSRF, rate limit per IP, sign-out, local accounts off."""

import httpx
from support.forms import Browser, Forms


def test_sign_in_needs_the_forms_csrf_token(hub):
    username, password = hub.create_user("alice")
    forged = httpx.post(hub.url("/login"), data={"username": username, "password": password}, timeout=30)
    assert forged.status_code == 400 and "session" not in forged.cookies
    browser = Browser(hub)
    page = browser.login(username, password)
    assert "alice" in page.text
    # Sign-out is a form too (no sign-out by a cross-site link).
    assert browser.http.post(hub.url("/logout")).status_code == 400
    signed_out = browser.submit(page, field="csrf_token")
    assert signed_out.url.path == "/login" and "Sign out" not in signed_out.text and "password" in signed_out.text


def test_the_json_api_needs_no_csrf_token(hub, make_user):
    from hub.services import accounts

    with hub.app.app_context():
        accounts.create_user("carol")
        _key, plain = accounts.create_api_key("carol")
    created = httpx.post(
        hub.url("/api/v1/tasks"),
        json={"title": "t", "prompt": "p"},
        headers={"Authorization": f"Bearer {plain}"},
        timeout=30,
    )
    assert created.status_code == 201


def test_failed_sign_ins_are_limited_per_ip(start_hub):
    hub = start_hub(HUB_LOGIN_RATE_LIMIT="3/minute")
    username, password = hub.create_user("alice")
    browser = Browser(hub)
    page = browser.go(hub.url("/login"))
    statuses = [browser.sign_in(page, username, "guess").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    # Even the right password waits now: the limit is on the address.
    assert browser.sign_in(page, username, password).status_code == 429


def test_token_endpoint_failures_are_limited_per_ip(start_hub):
    hub = start_hub(HUB_TOKEN_RATE_LIMIT="2/minute")
    client = hub.create_client()
    bad = {
        "grant_type": "authorization_code",
        "code": "nope",
        "client_id": client["client_id"],
        "client_secret": "cts_wrong",
    }
    statuses = [hub.token(**bad).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    limited = hub.token(**bad)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


def test_local_accounts_can_be_turned_off(start_hub):
    hub = start_hub(HUB_LOCAL_ACCOUNTS="false")
    username, password = hub.create_user("alice")
    browser = Browser(hub)
    page = browser.go(hub.url("/login"))
    assert page.status_code == 200 and not any("password" in f["fields"] for f in Forms(page.text).forms)
    refused = httpx.post(hub.url("/login"), data={"username": username, "password": password}, timeout=30)
    assert refused.status_code in (400, 403) and "session" not in refused.cookies


def test_next_never_leaves_the_hub(hub):
    username, password = hub.create_user("alice")
    browser = Browser(hub)
    page = browser.go(hub.url("/login?next=//evil.example/steal"))
    done = browser.sign_in(page, username, password)
    assert done.status_code == 200 and done.url.host == "127.0.0.1"
