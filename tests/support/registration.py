"""OAuth as an MCP client does it, for tests: register itself (RFC 7591), then
connect as a public client with PKCE and, when given, a resource (RFC 8707)."""

from __future__ import annotations

import httpx

from support.oauth import PKCE_VERIFIER, connect, redirect_params

# Where an MCP client on the user's machine listens for the redirect back.
LOOPBACK_REDIRECT = "http://127.0.0.1:33418/callback"
MCP_SCOPES = "tasks:read tasks:write messages:write"


def register(hub, **metadata):
    """POST /oauth/register with ``metadata`` (a public loopback client unless told)."""
    body = {
        "client_name": "Claude Desktop",
        "redirect_uris": [LOOPBACK_REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": MCP_SCOPES,
        **metadata,
    }
    return httpx.post(hub.url("/oauth/register"), json=body, timeout=30)


def connect_and_exchange(hub, browser, client, username, password, resource=None, token_resource=None):
    """authorize (sign in, consent) -> code -> tokens, as a public client:
    PKCE, no secret. ``resource``: at authorize; ``token_resource``: at the
    token endpoint (default: the same)."""
    extra = {"resource": resource} if resource else {}
    back = connect(
        hub,
        browser,
        client,
        username,
        password,
        redirect_uri=client["redirect_uris"][0],
        scope=client["scope"],
        **extra,
    )
    code = redirect_params(back)["code"]
    return hub.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=client["redirect_uris"][0],
        client_id=client["client_id"],
        code_verifier=PKCE_VERIFIER,
        resource=token_resource or resource,
    )
