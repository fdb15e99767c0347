"""RFC 8707 resource indicators: a token names the one resource it is for
(the REST API, or a connector such as the MCP endpoint) and is refused on
the others; one without (Zapier's) works everywhere, as before."""

import re

import httpx
from support.forms import Browser
from support.oauth import ZAPIER_REDIRECT, authorize_url, connect, redirect_params
from support.registration import connect_and_exchange, register

CONNECTOR_ROUTE = "/connectors/zapier/triggers/new_task"


def works_on(hub, token) -> dict[str, int]:
    return {path: hub.api(path, token).status_code for path in ("/api/v1/me", CONNECTOR_ROUTE)}


def introspect(hub, client, token):
    return httpx.post(
        hub.url("/oauth/introspect"),
        auth=(client["client_id"], client["client_secret"]),
        data={"token": token},
        timeout=30,
    ).json()


def test_a_token_for_one_resource_is_refused_on_the_others(hub):
    zapier = hub.url("/connectors/zapier")
    client = register(hub).json()
    username, password = hub.create_user("alice")
    browser = Browser(hub)
    tokens = connect_and_exchange(hub, browser, client, username, password, resource=zapier).json()
    assert works_on(hub, tokens["access_token"]) == {"/api/v1/me": 401, CONNECTOR_ROUTE: 200}
    refused = hub.api("/api/v1/me", tokens["access_token"])
    assert f"is for {zapier}" in refused.json()["message"]
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert re.search(r'resource_metadata="[^"]+/oauth-protected-resource"', refused.headers["www-authenticate"])

    # Refreshed, it stays for the same resource; it cannot be moved to another (nothing is spent trying).
    public = {"grant_type": "refresh_token", "client_id": client["client_id"]}
    moved = hub.token(**public, refresh_token=tokens["refresh_token"], resource=hub.base)
    assert moved.status_code == 400 and moved.json()["error"] == "invalid_target"
    assert zapier in moved.json()["error_description"]
    same = hub.token(**public, refresh_token=tokens["refresh_token"], resource=zapier)
    assert same.status_code == 200, same.text
    again = hub.token(**public, refresh_token=same.json()["refresh_token"])
    assert again.status_code == 200 and works_on(hub, again.json()["access_token"])[CONNECTOR_ROUTE] == 200
    assert works_on(hub, again.json()["access_token"])["/api/v1/me"] == 401

    # The person's own API key is no OAuth token: it works on every resource.
    from hub.services import accounts

    with hub.app.app_context():
        _key, key = accounts.create_api_key(username)
    assert works_on(hub, key) == {"/api/v1/me": 200, CONNECTOR_ROUTE: 200}


def test_the_resource_is_checked_at_authorize_and_at_the_token_endpoint(hub):
    zapier = hub.url("/connectors/zapier")
    client = hub.create_client()  # Zapier's, registered by the admin
    username, password = hub.create_user("alice")
    browser = Browser(hub)
    browser.login(username, password)

    # Unknown, or more than one: invalid_target, back to the app (its redirect URI is known good).
    for url in (
        authorize_url(hub, client["client_id"], resource="https://elsewhere.example/"),
        authorize_url(hub, client["client_id"], resource=hub.base) + "&resource=" + zapier,
        authorize_url(hub, client["client_id"], resource=hub.url("/connectors")),
        authorize_url(hub, client["client_id"], resource=zapier + "//"),
    ):
        back = browser.go(url)
        assert back.headers["location"].startswith(ZAPIER_REDIRECT + "?"), url
        assert redirect_params(back) | {"error_description": ""} == {
            "error": "invalid_target",
            "error_description": "",
            "state": "st4te",
            "iss": hub.base,
        }

    # Granted for the API: the code cannot be traded for a token for the connector, and trying spends nothing.
    code = redirect_params(connect(hub, browser, client, username, password, resource=hub.base))["code"]
    other = hub.exchange(client, code, resource=zapier)
    assert other.status_code == 400 and other.json()["error"] == "invalid_target"
    tokens = hub.exchange(client, code).json()
    assert works_on(hub, tokens["access_token"]) == {"/api/v1/me": 200, CONNECTOR_ROUTE: 401}
    assert introspect(hub, client, tokens["access_token"])["aud"] == hub.base

    # The same URL with a last slash is the same resource (clients differ on it).
    code = redirect_params(connect(hub, browser, client, username, password, resource=zapier + "/"))["code"]
    slashed = hub.exchange(client, code, resource=zapier).json()
    assert works_on(hub, slashed["access_token"]) == {"/api/v1/me": 401, CONNECTOR_ROUTE: 200}
    assert introspect(hub, client, slashed["access_token"])["aud"] == zapier

    # Granted for no resource: narrowed to one at the token endpoint.
    code = redirect_params(connect(hub, browser, client, username, password))["code"]
    unknown = hub.exchange(client, code, resource=hub.url("/connectors/nope"))
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_target"
    narrowed = hub.exchange(client, code, resource=zapier).json()
    assert works_on(hub, narrowed["access_token"]) == {"/api/v1/me": 401, CONNECTOR_ROUTE: 200}

    # Zapier's connection as ever, no resource anywhere: good on every resource, no audience.
    code = redirect_params(connect(hub, browser, client, username, password))["code"]
    everywhere = hub.exchange(client, code).json()
    assert works_on(hub, everywhere["access_token"]) == {"/api/v1/me": 200, CONNECTOR_ROUTE: 200}
    assert "aud" not in introspect(hub, client, everywhere["access_token"])
