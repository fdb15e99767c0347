"""Web sessions and pages as an attacker probes them (issue 18, items 1-4):
no redirect off the hub after sign-in, the session cookie's attributes, a
session that ends on the server, and headers that stop framing, foreign
scripts and caching of secrets."""

import time
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import pytest
from support.forms import Browser, Forms
from support.oauth import ZAPIER_REDIRECT, authorize_url, pkce_pair
from support.pages import csrf_token

# Each would send a browser to another host if taken as it is: Werkzeug and
# browsers drop tabs and newlines (``/\t/evil`` -> ``//evil``), browsers read
# ``\`` as ``/``, and some are plainly absolute.
OFF_SITE = [
    "/\t/evil.example/steal",
    "/\t\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https://evil.example/",
    "https:/evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "/\x0b/evil.example",
    "/\x85/evil.example",
    " //evil.example",
    "evil.example",
]
# A newline would split the Location header (a 500 before the fix).
HEADER_SPLIT = "/dashboard\r\nSet-Cookie: planted=1"


def landing(hub, response):
    """Where a browser goes with this redirect."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:300])
    return urlsplit(urljoin(hub.url("/login"), response.headers["location"]))


def sign_in_form(hub, next_url):
    browser = Browser(hub)
    page = browser.http.get(hub.url("/login"), params={"next": next_url})
    assert page.status_code == 200
    form = Forms(page.text).with_field("username")
    return browser, {**form["fields"], "username": "alice", "password": "correct horse battery"}


@pytest.mark.parametrize("next_url", [*OFF_SITE, HEADER_SPLIT])
def test_sign_in_never_redirects_off_the_hub(hub, next_url):
    hub.create_user("alice")
    browser, form = sign_in_form(hub, next_url)
    done = browser.http.post(hub.url("/login"), data=form)
    to = landing(hub, done)
    assert (to.scheme, to.netloc, to.path) == ("http", urlsplit(hub.base).netloc, "/dashboard"), done.headers
    assert "planted" not in done.headers.get("set-cookie", "")
    # Signed in already, the same link goes to the dashboard too.
    again = browser.http.get(hub.url("/login"), params={"next": next_url})
    assert landing(hub, again).path == "/dashboard" and landing(hub, again).netloc == urlsplit(hub.base).netloc


def test_a_path_on_the_hub_is_kept_as_next(hub):
    hub.create_user("alice")
    browser, form = sign_in_form(hub, "/tasks/task_x?tab=1")
    assert hub.url("/tasks/task_x?tab=1") == urljoin(
        hub.base, browser.http.post(hub.url("/login"), data=form).headers["location"]
    )


# -- the cookie --------------------------------------------------------------


def session_cookie(response):
    header = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    return header, SimpleCookie(header)["session"]


def test_session_cookie_is_httponly_samesite_lax_and_lives_12_hours(alice, client):
    from hub.services import accounts

    with client.application.app_context():
        accounts.create_user("carol", password="correct horse battery")
    page = client.get("/login")
    signed_in = client.post(
        "/login", data={"username": "carol", "password": "correct horse battery", "csrf_token": csrf_token(page)}
    )
    header, cookie = session_cookie(signed_in)
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]  # http base URL
    lifetime = parsedate_to_datetime(cookie["expires"]).timestamp() - time.time()
    assert abs(lifetime - 12 * 3600) < 60, header


@pytest.fixture
def https_client(hub_env, monkeypatch):
    from hub import create_app

    monkeypatch.setenv("HUB_BASE_URL", "https://hub.test")
    app = create_app({"TESTING": True})
    yield app.test_client()
    with app.app_context():
        from hub.db import db

        db.engine.dispose()


def test_session_cookie_is_secure_under_an_https_base_url(https_client):
    from hub.services import accounts

    with https_client.application.app_context():
        accounts.create_user("carol", password="correct horse battery")
    page = https_client.get("/login", base_url="https://hub.test")
    signed_in = https_client.post(
        "/login",
        base_url="https://hub.test",
        data={"username": "carol", "password": "correct horse battery", "csrf_token": csrf_token(page)},
    )
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)
    header, cookie = session_cookie(signed_in)
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax", header


# -- sessions end on the server ------------------------------------------------


def signed_in_browser(hub, username="alice"):
    browser = Browser(hub)
    browser.sign_in(browser.go(hub.url("/login")), username, "correct horse battery")
    assert dashboard_answers(hub, browser.http)
    return browser


def copy_of(browser):
    """Another client holding a copy of the browser's session cookie (stolen,
    or a second tab replayed later)."""
    return httpx.Client(cookies={"session": browser.http.cookies["session"]}, follow_redirects=False, timeout=30)


def dashboard_answers(hub, client):
    response = client.get(hub.url("/dashboard"))
    return response.status_code == 200 and "Your dashboard" in response.text


def test_sign_out_ends_a_copied_session_and_the_users_other_sessions(hub):
    hub.create_user("alice")
    hub.create_user("bob")
    browser, laptop, bobs = signed_in_browser(hub), signed_in_browser(hub), signed_in_browser(hub, "bob")
    stolen = copy_of(browser)
    assert dashboard_answers(hub, stolen)
    page = browser.go(hub.url("/dashboard"))
    signed_out = browser.submit(page, field="csrf_token")  # the header's Sign out form
    assert signed_out.url.path == "/login" and "Sign out" not in signed_out.text
    assert stolen.get(hub.url("/dashboard")).headers["location"].startswith("/login")
    assert not dashboard_answers(hub, laptop.http)  # "sign out" ends the user's every session
    assert dashboard_answers(hub, bobs.http)  # and nobody else's
    assert dashboard_answers(hub, signed_in_browser(hub).http)  # signing in again works


def test_a_password_change_or_disabling_the_user_ends_their_sessions(hub):
    from hub.db import begin_write, db, utcnow
    from hub.services import accounts

    hub.create_user("alice")
    browser = signed_in_browser(hub)
    with hub.app.app_context():
        accounts.set_password("alice", "a brand new passphrase")
    assert not dashboard_answers(hub, browser.http)

    hub.create_user("bob")
    browser = signed_in_browser(hub, "bob")
    with hub.app.app_context():
        accounts.set_disabled("bob", True)
    assert not dashboard_answers(hub, browser.http)

    # Even without a bumped generation (a disabled_at set some other way), a disabled user's session ends.
    hub.create_user("carol")
    browser = signed_in_browser(hub, "carol")
    with hub.app.app_context():
        begin_write()
        accounts.get_user("carol").disabled_at = utcnow()
        db.session.commit()
    assert not dashboard_answers(hub, browser.http)


def test_a_session_ends_12_hours_after_sign_in_however_busy(alice, sign_in):
    client = sign_in("alice")
    assert client.get("/dashboard").status_code == 200
    with client.session_transaction() as session:
        session["signed_in_at"] = int(time.time()) - 12 * 3600 - 60
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_session_without_the_users_generation_is_refused(alice, client):
    """A cookie made before sessions carried a generation (or forged with a
    leaked key by someone who does not know it) counts for nothing."""
    from hub.db import db
    from hub.models import User

    with client.application.app_context():
        pk = db.session.scalar(db.select(User.pk).where(User.username == "alice"))
    with client.session_transaction() as session:
        session.update(user_pk=pk, signed_in_at=int(time.time()))
    assert client.get("/dashboard").status_code == 302


# -- headers -----------------------------------------------------------------


def assert_locked_down(response, referrer="same-origin"):
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == ["'none'"], csp
    assert directives.get("script-src") == ["'self'"] and directives.get("style-src") == ["'self'"], csp
    assert directives.get("default-src") == ["'self'"] and directives.get("object-src") == ["'none'"], csp
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == referrer


@pytest.mark.parametrize("path", ["/login", "/dashboard", "/admin/", "/tasks/task_nope", "/help/workers", "/docs"])
def test_every_page_refuses_framing_and_foreign_scripts(client, make_user, sign_in, path):
    make_user("root", is_admin=True)
    response = (client if path == "/login" else sign_in("root")).get(path)
    assert response.mimetype == "text/html" and response.status_code in (200, 404)
    assert_locked_down(response)
    assert "<script>" not in response.get_data(as_text=True) and "style=" not in response.get_data(as_text=True)


def test_api_answers_say_nosniff(alice):
    response = alice.get("/api/v1/me")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in response.headers  # JSON is never framed as a page


def test_pages_with_a_new_key_or_client_secret_are_not_stored(alice, make_user, sign_in):
    client = sign_in("alice")
    created = client.post(
        "/dashboard/api-keys", data={"name": "ci", "csrf_token": csrf_token(client.get("/dashboard"))}
    )
    assert 'id="new-key-value"' in created.get_data(as_text=True)
    assert created.headers["Cache-Control"] == "no-store"
    make_user("root", is_admin=True)
    admin = sign_in("root")
    secret = admin.post(
        "/admin/clients",
        data={"name": "Zapier", "redirect_uris": ZAPIER_REDIRECT, "csrf_token": csrf_token(admin.get("/admin/"))},
    )
    assert 'id="new-client-secret"' in secret.get_data(as_text=True)
    assert secret.headers["Cache-Control"] == "no-store"
    assert_locked_down(secret)


def test_consent_page_cannot_be_framed_cached_or_leak_its_url(hub):
    username, password = hub.create_user("alice")
    client = hub.create_client()
    browser = Browser(hub)
    _verifier, challenge = pkce_pair()
    url = authorize_url(hub, client["client_id"], code_challenge=challenge, code_challenge_method="S256")
    consent = browser.sign_in(browser.go(url), username, password)
    assert "decision" in consent.text and consent.url.path == "/oauth/authorize"
    assert_locked_down(consent, referrer="no-referrer")
    assert consent.headers["cache-control"] == "no-store"
    refused = browser.go(authorize_url(hub, "cli_unknown"))  # the error page is an OAuth page too
    assert refused.status_code == 400
    assert_locked_down(refused, referrer="no-referrer")


def test_consent_over_https_needs_no_referer(https_client):
    """The consent page withholds the Referer (no-referrer); its form must
    still be accepted over HTTPS, where Flask-WTF would demand one."""
    from hub.services import accounts, oauth

    with https_client.application.app_context():
        accounts.create_user("carol", password="correct horse battery")
        client, _secret = oauth.create_client("Zapier", [ZAPIER_REDIRECT])
        client_id = client.client_id
    base = "https://hub.test"
    login = https_client.get("/login", base_url=base)
    https_client.post(
        "/login",
        base_url=base,
        data={"username": "carol", "password": "correct horse battery", "csrf_token": csrf_token(login)},
    )
    _verifier, challenge = pkce_pair()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": ZAPIER_REDIRECT,
            "scope": "tasks:read",
            "state": "st4te",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    consent = https_client.get("/oauth/authorize?" + query, base_url=base)
    assert consent.status_code == 200 and consent.headers["Referrer-Policy"] == "no-referrer"
    allowed = https_client.post(
        "/oauth/authorize?" + query, base_url=base, data={"csrf_token": csrf_token(consent), "decision": "allow"}
    )
    assert allowed.status_code == 302 and allowed.headers["Location"].startswith(ZAPIER_REDIRECT + "?code=")
