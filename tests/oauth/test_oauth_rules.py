"""OAuth rules the flow and security tests leave open: what a client may
be registered with, a revocation whose hint is wrong or missing, an
authorization that leaves out its redirect URI or its scope, consent for
fewer or more scopes, and introspecting a disabled user's token."""

import json
from urllib.parse import urlencode

import httpx
import pytest
from support.forms import Browser
from support.oauth import PKCE_CHALLENGE, ZAPIER_REDIRECT, ZAPIER_SCOPES, authorize_url, connect, redirect_params


@pytest.mark.parametrize(("name", "ok"), [("n" * 200, True), ("n" * 201, False), ("   ", False)])
def test_a_client_name_has_1_to_200_characters(run, name, ok):
    result = run("clients", "create", "--name", name, "--redirect-uri", ZAPIER_REDIRECT, "--json", ok=ok)
    if ok:
        assert json.loads(result.output)["name"] == name
    else:
        assert result.exit_code != 0 and "name" in result.output
        assert json.loads(run("clients", "list", "--json").output)["clients"] == []


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8123/cb", "http://localhost/cb", "http://[::1]:9000/cb"])
def test_plain_http_is_accepted_only_back_to_this_machine(run, uri):
    made = json.loads(run("clients", "create", "--name", "CLI", "--redirect-uri", uri, "--json").output)
    assert made["redirect_uris"] == [uri]


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.2/cb",
        "http://localhost.evil.test/cb",
        "https:///cb",
        "https://user@zapier.com/cb",
        "https://:secret@zapier.com/cb",
    ],
)
def test_other_redirect_uris_are_refused(run, uri):
    result = run("clients", "create", "--name", "Bad", "--redirect-uri", uri, ok=False)
    assert result.exit_code != 0 and "redirect_uri" in result.output
    assert json.loads(run("clients", "list", "--json").output)["clients"] == []


@pytest.fixture
def alice_connects(hub):
    """Alice connects a client (Zapier's by default) and gets its tokens."""
    username, password = hub.create_user("alice")
    browser = Browser(hub)

    def tokens(client, **extra):
        code = redirect_params(connect(hub, browser, client, username, password, **extra))["code"]
        issued = hub.exchange(client, code)
        assert issued.status_code == 200, issued.text
        return issued.json()

    return browser, tokens


def revoke(hub, client, token, hint):
    data = {"token": token, "client_id": client["client_id"], "client_secret": client["client_secret"]}
    if hint:
        data["token_type_hint"] = hint
    return httpx.post(hub.url("/oauth/revoke"), data=data, timeout=30)


def test_a_wrong_or_missing_hint_still_revokes_the_connection(hub, alice_connects):
    _browser, tokens = alice_connects
    client = hub.create_client()
    for kind, hint in (("refresh_token", "access_token"), ("access_token", "refresh_token"), ("refresh_token", None)):
        issued = tokens(client)
        assert revoke(hub, client, issued[kind], hint).status_code == 200
        assert hub.api("/api/v1/me", issued["access_token"]).status_code == 401, (kind, hint)
        assert hub.refresh(client, issued["refresh_token"]).status_code == 400, (kind, hint)


def without(url_params: dict, *keys: str) -> str:
    return urlencode({k: v for k, v in url_params.items() if k not in keys})


def test_without_a_redirect_uri_the_only_registered_one_is_used(hub, alice_connects):
    browser, tokens = alice_connects
    client = hub.create_client()
    tokens(client)  # consented
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "scope": ZAPIER_SCOPES,
        "state": "s",
        "code_challenge": PKCE_CHALLENGE,
        "code_challenge_method": "S256",
    }
    back = browser.go(hub.url("/oauth/authorize?" + without(params)))
    assert back.headers["location"].startswith(ZAPIER_REDIRECT + "?")
    code = redirect_params(back)["code"]
    issued = hub.token(
        grant_type="authorization_code",
        code=code,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
    )
    assert issued.status_code == 200, issued.text

    two = hub.create_client("--redirect-uri", "https://zapier.com/other/", name="Two")
    assert len(two["redirect_uris"]) == 2
    shown = browser.go(hub.url("/oauth/authorize?" + without({**params, "client_id": two["client_id"]})))
    assert shown.status_code == 400 and "location" not in shown.headers


def test_without_a_scope_the_token_gets_the_clients_scopes(hub, alice_connects):
    _browser, tokens = alice_connects
    client = hub.create_client("--scopes", "tasks:read,codebases:read", name="Reader")
    issued = tokens(client, scope="")
    assert sorted(issued["scope"].split()) == ["codebases:read", "tasks:read"]
    asked = tokens(client, scope="tasks:read messages:write")  # what the client may not have is left out
    assert asked["scope"] == "tasks:read"


def test_consent_covers_fewer_scopes_and_is_asked_again_for_more(hub, alice_connects):
    browser, tokens = alice_connects
    client = hub.create_client()
    tokens(client, scope="tasks:read tasks:write")
    fewer = browser.go(authorize_url(hub, client["client_id"], scope="tasks:read"))
    assert redirect_params(fewer)["code"]  # straight back: already consented
    same = browser.go(authorize_url(hub, client["client_id"], scope="tasks:write tasks:read"))
    assert redirect_params(same)["code"]
    more = browser.go(authorize_url(hub, client["client_id"], scope="tasks:read messages:write"))
    assert more.status_code == 200 and "decision" in more.text and "Send messages" in more.text
    widened = tokens(client, scope="tasks:read messages:write")  # allowed: now all three are consented
    assert sorted(widened["scope"].split()) == ["messages:write", "tasks:read"]
    again = browser.go(authorize_url(hub, client["client_id"], scope="tasks:write messages:write"))
    assert redirect_params(again)["code"]


def test_a_disabled_user_gets_nothing_more_from_a_connection(hub, alice_connects):
    """Disabled: an unspent code is not exchanged, the refresh token does not
    refresh, and the tokens introspect inactive."""
    from hub.services import accounts

    browser, tokens = alice_connects
    client = hub.create_client()
    issued = tokens(client)
    unspent = redirect_params(browser.go(authorize_url(hub, client["client_id"], state="later")))["code"]
    with hub.app.app_context():
        accounts.set_disabled("alice", True)
    exchanged = hub.exchange(client, unspent)
    assert exchanged.status_code == 400 and exchanged.json()["error"] == "invalid_grant"
    refreshed = hub.refresh(client, issued["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    auth = (client["client_id"], client["client_secret"])
    for token in (issued["access_token"], issued["refresh_token"]):
        answer = httpx.post(hub.url("/oauth/introspect"), data={"token": token}, auth=auth, timeout=30)
        assert answer.status_code == 200 and answer.json() == {"active": False}


EVERY_SCOPE = "tasks:read tasks:write messages:write messages:read codebases:read codebases:write"


@pytest.fixture
def two_people_on_one_app(hub, receiver):
    """Alice and Bob each connect the same app, which subscribes a hook for
    each; Alice also has a hook of her own (API key)."""
    from hub.services import accounts

    client = hub.create_client()
    people = {}
    for name in ("alice", "bob"):
        username, password = hub.create_user(name, tier="enterprise")
        page = connect(hub, Browser(hub), client, username, password, scope=EVERY_SCOPE)
        token = hub.exchange(client, redirect_params(page)["code"]).json()["access_token"]
        with hub.app.app_context():
            _key, key = accounts.create_api_key(username)
        hook = {"event": "task.created", "target_url": receiver.url(f"/{name}")}
        made = hub.api("/api/v1/hooks", token, "POST", json=hook)
        assert made.status_code == 201, made.text
        people[name] = {"token": token, "key": key, "app_hook": made.json()["id"]}
    own = hub.api("/api/v1/hooks", people["alice"]["key"], "POST", json={**hook, "target_url": receiver.url("/own")})
    people["alice"]["own_hook"] = own.json()["id"]
    return client, people


def hook_status(hub, person, hook_id):
    return hub.api(f"/api/v1/hooks/{hook_id}", person["key"]).json()["status"]


@pytest.mark.usefixtures("webhook_settings")  # hooks may point at this machine
def test_disconnecting_an_app_ends_only_that_persons_connection(hub, two_people_on_one_app):
    client, people = two_people_on_one_app
    alice, bob = people["alice"], people["bob"]
    gone = hub.api(f"/api/v1/me/grants/{client['client_id']}", alice["key"], "DELETE")
    assert gone.status_code == 200
    assert hub.api("/api/v1/me", alice["token"]).status_code == 401
    assert hub.api("/api/v1/me", bob["token"]).status_code == 200  # Bob's connection to the same app lives on
    assert hook_status(hub, alice, alice["app_hook"]) == "deleted"
    assert hook_status(hub, bob, bob["app_hook"]) != "deleted"
    assert hook_status(hub, alice, alice["own_hook"]) != "deleted"
    again = hub.api(f"/api/v1/me/grants/{client['client_id']}", alice["key"], "DELETE")
    assert again.status_code == 404


@pytest.mark.usefixtures("webhook_settings")  # hooks may point at this machine
def test_revoking_an_app_ends_every_persons_tokens_and_app_hooks(hub, two_people_on_one_app):
    client, people = two_people_on_one_app
    hub.cli("clients", "revoke", client["client_id"])
    for person in people.values():
        assert hub.api("/api/v1/me", person["token"]).status_code == 401
        assert hook_status(hub, person, person["app_hook"]) == "deleted"
    assert hook_status(hub, people["alice"], people["alice"]["own_hook"]) != "deleted"
    # The app can no longer connect anyone.
    page = Browser(hub).go(authorize_url(hub, client["client_id"]))
    assert page.status_code == 400 and "location" not in page.headers


def test_a_confidential_client_must_send_its_secret(hub, alice_connects):
    browser, tokens = alice_connects
    client = hub.create_client()
    issued = tokens(client)
    code = redirect_params(browser.go(authorize_url(hub, client["client_id"], state="again")))["code"]
    bare = {"client_id": client["client_id"], "client_secret": None}  # None: not sent
    exchanged = hub.token(grant_type="authorization_code", code=code, redirect_uri=ZAPIER_REDIRECT, **bare)
    assert exchanged.status_code == 401 and exchanged.json()["error"] == "invalid_client"
    refreshed = hub.token(grant_type="refresh_token", refresh_token=issued["refresh_token"], **bare)
    assert refreshed.status_code == 401 and refreshed.json()["error"] == "invalid_client"
    assert hub.refresh(client, issued["refresh_token"]).status_code == 200  # nothing was spent


def test_a_refresh_keeps_the_scope_or_narrows_it_never_widens(hub, alice_connects):
    _browser, tokens = alice_connects
    client = hub.create_client()
    issued = tokens(client)
    kept = hub.refresh(client, issued["refresh_token"])
    assert kept.status_code == 200 and kept.json()["scope"] == issued["scope"] == ZAPIER_SCOPES
    narrowed = hub.refresh(client, kept.json()["refresh_token"], scope="tasks:read")
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "tasks:read"
    token = narrowed.json()["access_token"]
    assert hub.api("/api/v1/tasks", token).status_code == 200
    assert hub.api("/api/v1/tasks", token, method="POST", json={"title": "t", "prompt": "p"}).status_code == 403
    wider = hub.refresh(client, narrowed.json()["refresh_token"], scope="tasks:read tasks:write")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"


def test_a_challenge_that_is_no_s256_digest_is_refused_at_authorize(hub):
    """RFC 7636 §4.2: 43 to 128 characters of [A-Za-z0-9-._~]."""
    username, password = hub.create_user("alice")
    client = hub.create_client()
    browser = Browser(hub)
    browser.login(username, password)
    for challenge in ("short", "x" * 42 + "!", "x" * 129):
        url = authorize_url(hub, client["client_id"], code_challenge=challenge, code_challenge_method="S256")
        refused = redirect_params(browser.go(url))
        assert refused["error"] == "invalid_request" and "code_challenge" in refused["error_description"], refused
