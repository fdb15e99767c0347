"""Sign in with SSO against a real OpenID Connect provider (oidc-provider set
up like a Keycloak realm), and the provider's JWTs as bearer tokens."""

import html
import re
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import pytest
from support import free_port
from support.forms import Browser, Forms
from support.oauth import authorize_url, pkce_pair, redirect_params
from support.oidc_provider import AUDIENCE, RESOURCE, USERS

# The SQLite pass is enough: signing in at the provider asks nothing more of the database.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def sso_hub(start_hub, oidc_provider):
    def start(idp_options=None, **settings):
        port = free_port()
        idp = oidc_provider(f"http://127.0.0.1:{port}", **(idp_options or {}))
        return start_hub(port=port, **idp.hub_settings, **settings), idp

    return start


def sso_sign_in(browser, page, username):
    """Click "Sign in with SSO" on the hub's page and sign in at the provider."""
    link = re.search(r'<a[^>]*href="([^"]*)"[^>]*>Sign in with SSO</a>', page.text)
    assert link, page.text
    at_idp = browser.go(urljoin(str(page.url), html.unescape(link.group(1))))
    assert at_idp.status_code == 200 and "Sign in to codetether" in at_idp.text, at_idp.text
    return browser.submit(at_idp, {"username": username, "password": USERS[username]["password"]}, field="username")


def test_zapier_flow_through_sso_provisions_the_user_with_tier_from_roles(sso_hub):
    hub, idp = sso_hub()
    client = hub.create_client()
    browser = Browser(hub, allowed={urlsplit(idp.issuer).netloc})

    page = browser.go(authorize_url(hub, client["client_id"]))
    assert page.url.path == "/login" and "Sign in with SSO" in page.text
    consent = sso_sign_in(browser, page, "maria")
    assert consent.url.path == "/oauth/authorize" and "Zapier" in consent.text, consent.text
    params = redirect_params(browser.submit(consent, button=("decision", "allow")))
    tokens = hub.exchange(client, params["code"]).json()

    me = hub.api("/api/v1/me", tokens["access_token"]).json()
    assert (me["username"], me["tier"], me["email"], me["name"]) == ("maria", "pro", "maria@example.com", "Maria Lopez")
    assert (
        hub.api("/api/v1/tasks", tokens["access_token"], "POST", json={"title": "t", "prompt": "p"}).status_code == 201
    )

    refreshed = hub.refresh(client, tokens["refresh_token"])
    assert refreshed.status_code == 200
    reused = hub.refresh(client, tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert hub.api("/api/v1/me", refreshed.json()["access_token"]).status_code == 401

    # Signing in again (new browser) finds the same user by sub: no second account.
    again = Browser(hub, allowed={urlsplit(idp.issuer).netloc})
    done = sso_sign_in(again, again.go(hub.url("/login")), "maria")
    assert done.url.path == "/dashboard" and "Signed in as <strong>maria</strong>" in done.text
    with hub.app.app_context():
        from hub.services import accounts

        users = accounts.list_users()
        assert [(u.username, u.oidc_sub) for u in users] == [("maria", USERS["maria"]["sub"])]
        assert users[0].password_hash is None


def test_first_sign_in_keeps_local_names_apart_and_defaults_to_free(sso_hub):
    hub, idp = sso_hub()
    hub.create_user("alice", email="alice@local.example")  # a local account named like the SSO user
    allowed = {urlsplit(idp.issuer).netloc}

    browser = Browser(hub, allowed=allowed)
    sso_sign_in(browser, browser.go(hub.url("/login")), "alice")
    browser = Browser(hub, allowed=allowed)
    sso_sign_in(browser, browser.go(hub.url("/login")), "ken")
    with hub.app.app_context():
        from hub.services import accounts

        users = {u.username: u for u in accounts.list_users()}
    assert set(users) == {"alice", "alice-2", "ken"}
    assert users["alice"].oidc_sub is None and users["alice"].email == "alice@local.example"
    assert users["alice-2"].tier == "enterprise" and users["alice-2"].email == "alice@sso.example"
    assert users["ken"].tier == "free"


def test_roles_and_profile_from_userinfo_when_not_in_the_id_token(sso_hub):
    hub, idp = sso_hub(idp_options={"rolesOnlyInUserinfo": True})
    browser = Browser(hub, allowed={urlsplit(idp.issuer).netloc})
    done = sso_sign_in(browser, browser.go(hub.url("/login")), "maria")
    assert done.url.path == "/dashboard", done.text
    with hub.app.app_context():
        from hub.services import accounts

        user = accounts.get_user("maria")
    assert (user.tier, user.email, user.name) == ("pro", "maria@example.com", "Maria Lopez")


def test_roles_from_the_access_token_as_keycloak_maps_them_by_default(sso_hub):
    hub, idp = sso_hub(idp_options={"rolesOnlyInAccessToken": True})
    browser = Browser(hub, allowed={urlsplit(idp.issuer).netloc})
    done = sso_sign_in(browser, browser.go(hub.url("/login")), "alice")
    assert done.url.path == "/dashboard", done.text
    with hub.app.app_context():
        from hub.services import accounts

        assert accounts.get_user("alice").tier == "enterprise"


def test_sso_only_hub_offers_no_password_form(sso_hub):
    hub, idp = sso_hub(HUB_LOCAL_ACCOUNTS="false")
    browser = Browser(hub, allowed={urlsplit(idp.issuer).netloc})
    page = browser.go(hub.url("/login"))
    assert "Sign in with SSO" in page.text
    assert not any("password" in form["fields"] for form in Forms(page.text).forms)
    assert sso_sign_in(browser, page, "ken").url.path == "/dashboard"


def test_a_forged_sso_callback_signs_nobody_in(sso_hub):
    hub, _idp = sso_hub()
    browser = httpx.Client(timeout=30)
    response = browser.get(hub.url("/login/sso/callback?code=stolen&state=guessed"))
    assert response.status_code == 400 and "Single sign-on failed" in response.text
    assert browser.get(hub.url("/dashboard")).status_code == 302  # to sign in


@pytest.mark.parametrize(
    "next_url", ["/\t/evil.example/steal", "//evil.example", "/\\evil.example", "/dashboard\r\nSet-Cookie: planted=1"]
)
def test_sso_next_never_leaves_the_hub(sso_hub, next_url):
    hub, idp = sso_hub()
    browser = Browser(hub, allowed={urlsplit(idp.issuer).netloc})
    at_idp = browser.go(hub.url("/login/sso?" + urlencode({"next": next_url})))
    assert "Sign in to codetether" in at_idp.text, at_idp.text
    done = browser.submit(at_idp, {"username": "ken", "password": USERS["ken"]["password"]}, field="username")
    # The browser follows redirects on the hub and the provider only: one elsewhere would stop it.
    assert done.status_code == 200 and (done.url.host, done.url.path) == ("127.0.0.1", "/dashboard")


def idp_access_token(idp, username, scope):
    """A JWT access token for the hub's API, as another app of the realm gets it."""
    metadata = httpx.get(idp.issuer + "/.well-known/openid-configuration", timeout=30).json()
    verifier, challenge = pkce_pair()
    browser = Browser(type("Hub", (), {"base": idp.issuer})())
    page = browser.go(
        metadata["authorization_endpoint"]
        + "?"
        + urlencode(
            {
                "client_id": idp.cli_client_id,
                "response_type": "code",
                "redirect_uri": idp.cli_redirect,
                "scope": scope,
                "resource": RESOURCE,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": "s",
                "nonce": "n",
            }
        )
    )
    back = browser.submit(page, {"username": username, "password": USERS[username]["password"]}, field="username")
    code = redirect_params(back)["code"]
    token = httpx.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": idp.cli_redirect,
            "client_id": idp.cli_client_id,
            "code_verifier": verifier,
            "resource": RESOURCE,
        },
        timeout=30,
    )
    assert token.status_code == 200, token.text
    return token.json()["access_token"]


def test_resource_server_mode_accepts_the_providers_jwts(sso_hub):
    hub, idp = sso_hub(HUB_OIDC_AUDIENCE=AUDIENCE)
    jwt = idp_access_token(idp, "maria", "openid tasks:read")
    assert jwt.count(".") == 2

    me = hub.api("/api/v1/me", jwt)
    assert me.status_code == 200 and me.json()["username"] == "maria" and me.json()["tier"] == "pro"
    assert hub.api("/api/v1/tasks", jwt).status_code == 200
    refused = hub.api("/api/v1/tasks", jwt, "POST", json={"title": "t", "prompt": "p"})
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"

    header, payload, signature = jwt.split(".")
    tampered = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    bad = hub.api("/api/v1/me", tampered)
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["www-authenticate"]


def test_resource_server_mode_checks_the_audience(sso_hub):
    hub, idp = sso_hub(HUB_OIDC_AUDIENCE="some-other-api")
    jwt = idp_access_token(idp, "maria", "openid tasks:read")
    assert hub.api("/api/v1/me", jwt).status_code == 401


def test_without_resource_server_mode_jwts_are_refused(sso_hub):
    hub, idp = sso_hub()
    assert hub.api("/api/v1/me", idp_access_token(idp, "ken", "openid tasks:read")).status_code == 401
