"""MCP authorization end to end against a live hub on 127.0.0.1: from the
MCP endpoint's 401 alone to a tools/list with the token, first step by step
over HTTP, then with the official ``mcp`` client's own OAuth support
(discovery, registration, PKCE, resource), the hub's sign-in and consent
forms driven over HTTP as a person would."""

from __future__ import annotations

import re

import anyio
import httpx
import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from sqlalchemy import select
from support import run_async
from support.forms import Browser
from support.oauth import PKCE_CHALLENGE, PKCE_VERIFIER, redirect_params
from support.registration import LOOPBACK_REDIRECT

from hub.db import db
from hub.models import OAuthToken as TokenRow

pytestmark = pytest.mark.sqlite_only  # the OAuth rows are the same on PostgreSQL (tests/oauth's other modules)

ENDPOINT = "/connectors/mcp"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "curl", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def signed_in_consent(hub, browser, url, username, password):
    """The authorize URL -> sign in -> Allow: the redirect back to the app (not followed)."""
    page = browser.go(url)
    if "password" in page.text:
        page = browser.sign_in(page, username, password)
    assert page.status_code == 200 and 'id="unverified"' in page.text, page.text
    assert f"Only at <code>{hub.url(ENDPOINT)}</code>" in page.text  # what the access is for
    return browser.submit(page, button=("decision", "allow"))


def test_discovery_from_the_401_alone(hub):
    username, password = hub.create_user("alice")
    refused = httpx.post(hub.url(ENDPOINT), json=INITIALIZE, headers=MCP_HEADERS, timeout=30)
    assert refused.status_code == 401
    prm_url = re.search(r'resource_metadata="([^"]+)"', refused.headers["www-authenticate"]).group(1)
    assert prm_url == hub.url("/.well-known/oauth-protected-resource/connectors/mcp")

    prm = httpx.get(prm_url, timeout=30).json()
    resource = prm["resource"]
    assert resource == hub.url(ENDPOINT) and prm["bearer_methods_supported"] == ["header"]
    [issuer] = prm["authorization_servers"]
    server = httpx.get(issuer + "/.well-known/oauth-authorization-server", timeout=30).json()
    assert server["issuer"] == issuer and "S256" in server["code_challenge_methods_supported"]

    client = httpx.post(
        server["registration_endpoint"],
        json={
            "client_name": "A hand-rolled client",
            "redirect_uris": [LOOPBACK_REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": " ".join(prm["scopes_supported"]),
        },
        timeout=30,
    ).json()
    query = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": LOOPBACK_REDIRECT,
        "scope": client["scope"],
        "state": "s1",
        "code_challenge": PKCE_CHALLENGE,
        "code_challenge_method": "S256",
        "resource": resource,
    }
    back = signed_in_consent(
        hub, Browser(hub), str(httpx.URL(server["authorization_endpoint"], params=query)), username, password
    )
    assert back.headers["location"].startswith(LOOPBACK_REDIRECT + "?")
    params = redirect_params(back)
    assert params["state"] == "s1" and params["iss"] == issuer
    tokens = httpx.post(
        server["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": LOOPBACK_REDIRECT,
            "client_id": client["client_id"],
            "code_verifier": PKCE_VERIFIER,
            "resource": resource,
        },
        timeout=30,
    ).json()

    bearer = {"Authorization": f"Bearer {tokens['access_token']}", **MCP_HEADERS}
    initialized = httpx.post(hub.url(ENDPOINT), json=INITIALIZE, headers=bearer, timeout=30)
    assert initialized.status_code == 200, initialized.text
    # The token is the MCP endpoint's alone: the REST API refuses it.
    assert hub.api("/api/v1/me", tokens["access_token"]).status_code == 401


class Memory:
    """The client's token storage (TokenStorage), in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


def test_the_official_mcp_client_signs_in_by_itself_and_lists_tools(hub):
    username, password = hub.create_user("alice")
    browser = Browser(hub)
    redirected: dict[str, str] = {}

    def person_allows(url: str) -> None:
        # What the user does in the browser the client opened: sign in, read the consent page, Allow.
        assert url.startswith(hub.url("/oauth/authorize?"))
        back = signed_in_consent(hub, browser, url, username, password)
        assert back.headers["location"].startswith(LOOPBACK_REDIRECT + "?")
        redirected.update(redirect_params(back))

    async def open_browser(url: str) -> None:
        await anyio.to_thread.run_sync(person_allows, url)

    async def callback() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=redirected["code"], state=redirected["state"], iss=redirected["iss"])

    storage = Memory()
    provider = OAuthClientProvider(
        server_url=hub.url(ENDPOINT),
        client_metadata=OAuthClientMetadata(
            client_name="mcp pytest client",
            redirect_uris=[LOOPBACK_REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=open_browser,
        callback_handler=callback,
    )

    async def scenario() -> list[str]:
        async with (
            httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(30, read=60)) as http,
            streamable_http_client(hub.url(ENDPOINT), http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return [tool.name for tool in (await session.list_tools()).tools]

    tools = run_async(scenario)
    assert {"create_task", "find_task", "find_tasks", "cancel_task", "get_task"} <= set(tools)
    assert storage.client is not None and storage.client.client_id.startswith("cli_")
    assert storage.tokens is not None and storage.tokens.access_token.startswith("cto_")
    with hub.app.app_context():
        row = db.session.scalar(select(TokenRow))
        assert row.resource == hub.url(ENDPOINT) and row.client.dynamic and row.client.name == "mcp pytest client"
        db.session.remove()
    assert hub.api("/api/v1/me", storage.tokens.access_token).status_code == 401
