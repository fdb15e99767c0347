"""RFC 7591 dynamic client registration, as MCP clients use it: over real
HTTP against a hub on 127.0.0.1, the forms driven as a person would."""

import time

import httpx
from sqlalchemy import select
from support.forms import Browser, Forms
from support.oauth import authorize_url, redirect_params
from support.registration import LOOPBACK_REDIRECT, MCP_SCOPES, connect_and_exchange, register

from hub.crypto import hash_secret
from hub.db import db
from hub.models import OAuthClient


def stored_clients(hub):
    with hub.app.app_context():
        try:
            return list(db.session.scalars(select(OAuthClient)))
        finally:
            db.session.remove()


def test_a_public_client_registers_connects_with_pkce_and_the_admin_revokes_it(hub):
    registered = register(hub)
    assert registered.status_code == 201, registered.text
    assert registered.headers["cache-control"] == "no-store"
    client = registered.json()
    assert client["client_id"].startswith("cli_") and "client_secret" not in client
    assert client["token_endpoint_auth_method"] == "none" and client["client_name"] == "Claude Desktop"
    assert client["redirect_uris"] == [LOOPBACK_REDIRECT] and client["scope"] == MCP_SCOPES
    assert client["grant_types"] == ["authorization_code", "refresh_token"] and client["response_types"] == ["code"]
    [row] = stored_clients(hub)
    assert row.dynamic and row.registered_ip == "127.0.0.1" and row.secret_hash is None and row.last_used_at is None

    username, password = hub.create_user("alice")
    browser = Browser(hub)
    # Without PKCE: refused, back to the app (its redirect URI is registered).
    no_pkce = browser.go(
        authorize_url(hub, client["client_id"], redirect_uri=LOOPBACK_REDIRECT, scope=MCP_SCOPES, pkce=False)
    )
    assert redirect_params(no_pkce)["error"] == "invalid_request"

    # The consent page says the name is the app's own claim, and where it sends the user back.
    page = browser.sign_in(
        browser.go(authorize_url(hub, client["client_id"], redirect_uri=LOOPBACK_REDIRECT, scope=MCP_SCOPES)),
        username,
        password,
    )
    assert page.status_code == 200 and 'id="unverified"' in page.text
    assert "registered itself" in page.text and LOOPBACK_REDIRECT in page.text

    tokens = connect_and_exchange(hub, browser, client, username, password)
    assert tokens.status_code == 200, tokens.text
    access = tokens.json()["access_token"]
    assert hub.api("/api/v1/me", access).json()["username"] == "alice"
    [row] = stored_clients(hub)
    assert row.last_used_at is not None

    # The admin sees it (who, when, where it redirects, last used) and revokes it with the page's form.
    hub.create_user("root", password=password, is_admin=True)
    admin = Browser(hub)
    admin.login("root", password)
    listed = admin.go(hub.url("/admin/"))
    entry = listed.text.split(f'id="client-{client["client_id"]}"')[1].split("</li>")[0]
    assert "self-registered" in entry and "registered by 127.0.0.1" in entry and LOOPBACK_REDIRECT in entry
    assert "last used never" not in entry
    form = next(f for f in Forms(listed.text).forms if f["action"].endswith(f"/clients/{client['client_id']}/revoke"))
    forged = admin.go(hub.url(form["action"]), "POST", data={})  # no CSRF token: refused, nothing changes
    assert forged.status_code == 400 and hub.api("/api/v1/me", access).status_code == 200
    done = admin.go(hub.url(form["action"]), "POST", data=form["fields"])
    assert done.status_code == 200 and "Client revoked" in done.text
    assert hub.api("/api/v1/me", access).status_code == 401
    refreshed = hub.token(grant_type="refresh_token", refresh_token=tokens.json()["refresh_token"], **_public(client))
    assert refreshed.status_code in (400, 401) and refreshed.json()["error"] == "invalid_client"


def test_a_loopback_redirect_may_name_any_port_and_nothing_else_may_differ(hub):
    client = register(hub).json()  # http://127.0.0.1:33418/callback
    username, password = hub.create_user("alice")
    browser = Browser(hub)
    browser.login(username, password)
    elsewhere = "http://127.0.0.1:51234/callback"  # the port the app found free this time (RFC 8252 §7.3)
    tokens = connect_and_exchange(hub, browser, {**client, "redirect_uris": [elsewhere]}, username, password)
    assert tokens.status_code == 200, tokens.text
    for refused in (
        "http://127.0.0.1:51234/other",
        "http://localhost:33418/callback",
        "http://evil@127.0.0.1:33418/callback",
        "https://127.0.0.1:33418/callback",
    ):
        page = browser.go(authorize_url(hub, client["client_id"], redirect_uri=refused, scope=MCP_SCOPES))
        assert page.status_code == 400 and "invalid_request" in page.text, refused  # shown, never redirected
    https = register(hub, redirect_uris=["https://app.example/cb"]).json()
    page = browser.go(authorize_url(hub, https["client_id"], redirect_uri="https://app.example:8443/cb"))
    assert page.status_code == 400  # any port on loopback only
    https_loopback = register(hub, redirect_uris=["https://127.0.0.1:8443/cb"]).json()
    page = browser.go(authorize_url(hub, https_loopback["client_id"], redirect_uri="https://127.0.0.1:9443/cb"))
    assert page.status_code == 400  # and for http only (RFC 8252 §7.3: an https one is matched exactly)


def _public(client):
    return {"client_id": client["client_id"]}


def test_a_confidential_client_gets_its_secret_once_stored_hashed_and_still_needs_pkce(hub):
    registered = register(hub, token_endpoint_auth_method="client_secret_post", client_name="  IDE  ")
    assert registered.status_code == 201, registered.text
    client = registered.json()
    secret = client["client_secret"]
    assert secret.startswith("cts_") and client["client_secret_expires_at"] == 0 and client["client_name"] == "IDE"
    [row] = stored_clients(hub)
    assert row.secret_hash == hash_secret(secret) and secret not in repr(vars(row)) and row.require_pkce

    username, password = hub.create_user("alice")
    browser = Browser(hub)
    browser.login(username, password)
    url = authorize_url(hub, client["client_id"], redirect_uri=LOOPBACK_REDIRECT, scope=MCP_SCOPES, pkce=False)
    assert redirect_params(browser.go(url))["error"] == "invalid_request"


REFUSED = [
    ({"redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": ["https://app.example/cb#done"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": ["https://user@app.example/cb"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": ["com.example.app://evil.example/cb"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": ["com.example.app:/cb#x"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": []}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": "https://app.example/cb"}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": None}, "invalid_redirect_uri", "redirect_uris"),
    (
        {"redirect_uris": [f"http://127.0.0.1:{port}/cb" for port in range(1, 12)]},
        "invalid_redirect_uri",
        "redirect_uris",
    ),
    ({"redirect_uris": ["https://app.example/" + "x" * 1981]}, "invalid_redirect_uri", "redirect_uris"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata", "token_endpoint_auth_method"),
    ({"grant_types": ["authorization_code", "client_credentials"]}, "invalid_client_metadata", "grant_types"),
    ({"grant_types": "authorization_code"}, "invalid_client_metadata", "grant_types"),
    ({"response_types": ["token"]}, "invalid_client_metadata", "response_types"),
    ({"scope": "tasks:read admin"}, "invalid_client_metadata", "scope"),
    ({"scope": ["tasks:read"]}, "invalid_client_metadata", "scope"),
    ({"client_name": " "}, "invalid_client_metadata", "client_name"),
    ({"client_name": "x" * 201}, "invalid_client_metadata", "client_name"),
    ({"client_name": 7}, "invalid_client_metadata", "client_name"),
]


def test_bad_metadata_is_refused_naming_the_field_and_registers_nothing(start_hub):
    hub = start_hub(HUB_OAUTH_REGISTRATION_RATE_LIMIT="100/hour")
    for metadata, error, field in REFUSED:
        refused = register(hub, **metadata)
        assert refused.status_code == 400, (metadata, refused.text)
        body = refused.json()
        assert (body["error"], list(body["errors"])) == (error, [field]), metadata
        assert body["error_description"].startswith(f"{field}: ")
    not_json = httpx.post(hub.url("/oauth/register"), content=b"[1]", timeout=30)
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid_client_metadata"
    assert stored_clients(hub) == []

    # What RFC 8252 allows a native app: loopback by any name, a private-use scheme; https anywhere.
    uris = ["http://localhost:8080/cb", "http://[::1]:8080/cb", "com.example.app:/oauth/cb", "https://app.example/cb"]
    uris += [f"http://127.0.0.1:{port}/cb" for port in range(1, 6)] + ["https://app.example/" + "x" * 1980]  # 10, 2000
    accepted = register(hub, redirect_uris=uris, client_name="x" * 200)
    assert accepted.status_code == 201 and accepted.json()["redirect_uris"] == uris
    assert accepted.json()["client_name"] == "x" * 200
    assert abs(accepted.json()["client_id_issued_at"] - time.time()) < 300  # seconds since the epoch, UTC
    # Left out, the defaults of RFC 7591 §2: a confidential client, the code grant, every user scope.
    defaults = httpx.post(hub.url("/oauth/register"), json={"redirect_uris": uris[:1]}, timeout=30).json()
    assert defaults["token_endpoint_auth_method"] == "client_secret_basic" and "client_secret" in defaults
    assert defaults["grant_types"] == ["authorization_code"] and defaults["client_name"] == "Unnamed app"
    assert defaults["scope"].split() == [
        "tasks:read",
        "tasks:write",
        "messages:write",
        "codebases:read",
        "messages:read",
        "codebases:write",
        "orgs:read",
        "orgs:write",
    ]


def test_registration_is_rate_limited_per_address(start_hub):
    # The peer is a trusted proxy: the address counted is the client's, in X-Forwarded-For.
    hub = start_hub(HUB_OAUTH_REGISTRATION_RATE_LIMIT="2/hour", HUB_TRUSTED_PROXIES="127.0.0.1")

    def from_address(address, **metadata):
        body = {"redirect_uris": [LOOPBACK_REDIRECT], "token_endpoint_auth_method": "none", **metadata}
        return httpx.post(hub.url("/oauth/register"), json=body, headers={"X-Forwarded-For": address}, timeout=30)

    assert from_address("203.0.113.7").status_code == 201
    assert from_address("203.0.113.7", scope="nope").status_code == 400  # refused ones count too
    limited = from_address("203.0.113.7")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert from_address("203.0.113.8").status_code == 201
    assert [c.registered_ip for c in stored_clients(hub)] == ["203.0.113.7", "203.0.113.8"]


def test_the_admin_can_turn_registration_off(start_hub):
    hub = start_hub(HUB_OAUTH_REGISTRATION="false")
    refused = register(hub)
    assert refused.status_code == 404 and "HUB_OAUTH_REGISTRATION" in refused.json()["message"]
    metadata = httpx.get(hub.url("/.well-known/oauth-authorization-server"), timeout=30).json()
    assert "registration_endpoint" not in metadata and metadata["token_endpoint"] == hub.url("/oauth/token")
    assert stored_clients(hub) == []
