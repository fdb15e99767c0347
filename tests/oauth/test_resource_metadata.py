"""RFC 9728 protected-resource metadata and RFC 8414 server metadata, and the
401 that leads a client to them (``resource_metadata`` in WWW-Authenticate)."""

import re

import httpx
import pytest

from hub.auth import SCOPES

pytestmark = pytest.mark.sqlite_only  # documents and headers: nothing of the database


def get(hub, path):
    return httpx.get(hub.url(path), timeout=30)


def resource_metadata(response) -> str:
    return re.search(r'resource_metadata="([^"]+)"', response.headers["www-authenticate"]).group(1)


def test_the_metadata_documents(hub):
    server = get(hub, "/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == hub.base
    assert server["registration_endpoint"] == hub.url("/oauth/register")
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "none"]

    api = get(hub, "/.well-known/oauth-protected-resource").json()
    assert api == {
        "resource": hub.base,
        "authorization_servers": [hub.base],
        "scopes_supported": list(SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": "CodeTether Hub API",
        "resource_documentation": hub.url("/docs"),
    }
    zapier = get(hub, "/.well-known/oauth-protected-resource/connectors/zapier").json()
    assert zapier["resource"] == hub.url("/connectors/zapier") and zapier["authorization_servers"] == [hub.base]
    assert zapier["scopes_supported"] == [
        "tasks:read",
        "tasks:write",
        "messages:write",
        "codebases:read",
        "messages:read",
    ]

    unknown = get(hub, "/.well-known/oauth-protected-resource/connectors/nope")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


def test_every_bearer_challenge_names_the_metadata_of_the_resource_asked_for(hub):
    api_metadata = hub.url("/.well-known/oauth-protected-resource")
    zapier_metadata = hub.url("/.well-known/oauth-protected-resource/connectors/zapier")

    no_token = get(hub, "/api/v1/me")
    assert no_token.status_code == 401 and resource_metadata(no_token) == api_metadata
    assert "error=" not in no_token.headers["www-authenticate"]
    bad = hub.api("/api/v1/tasks", "cto_not-a-token")
    assert bad.status_code == 401 and resource_metadata(bad) == api_metadata
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    connector = get(hub, "/connectors/zapier/triggers/new_task")
    assert connector.status_code == 401 and resource_metadata(connector) == zapier_metadata
    # The document behind each URL names the resource that was asked for.
    assert httpx.get(resource_metadata(connector), timeout=30).json()["resource"] == hub.url("/connectors/zapier")

    # A scope challenge (403) names it too, so a client can ask for more.
    from hub.services import accounts

    username, _ = hub.create_user("alice")
    with hub.app.app_context():
        _key, read_only = accounts.create_api_key(username, scopes="tasks:read")
    refused = hub.api("/connectors/zapier/actions/create_task", read_only, "POST", json={"title": "t", "prompt": "p"})
    assert refused.status_code == 403 and resource_metadata(refused) == zapier_metadata
    assert 'error="insufficient_scope", scope="tasks:write"' in refused.headers["www-authenticate"]


def test_a_browser_based_client_may_discover_register_and_trade_tokens_from_another_origin(start_hub):
    hub = start_hub(HUB_OAUTH_REGISTRATION_RATE_LIMIT="1/hour")
    origin = {"Origin": "http://localhost:6274"}  # an MCP inspector in the browser
    for path in (
        "/.well-known/oauth-protected-resource/connectors/zapier",
        "/.well-known/oauth-authorization-server",
        "/oauth/register",
        "/oauth/token",
    ):
        preflight = httpx.options(
            hub.url(path),
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "mcp-protocol-version, content-type",
            },
            timeout=30,
        )
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == "*", path
        assert "MCP-Protocol-Version" in preflight.headers["access-control-allow-headers"]
    # The preflight did not use up the address's one registration.
    registered = httpx.post(
        hub.url("/oauth/register"), json={"redirect_uris": ["http://localhost:6274/cb"]}, headers=origin
    )
    assert registered.status_code == 201 and registered.headers["access-control-allow-origin"] == "*"
    # The signed-in person's consent page and introspection stay same-origin.
    for path in ("/oauth/authorize", "/oauth/introspect"):
        assert "access-control-allow-origin" not in httpx.options(hub.url(path), headers=origin, timeout=30).headers
