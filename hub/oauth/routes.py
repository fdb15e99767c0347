"""``/oauth/*``, the RFC 8414 server metadata, the RFC 9728 metadata of
each protected resource, and RFC 7591 client registration."""

from __future__ import annotations

import logging
import os

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState

from hub import plugins
from hub import protected_resources as resources
from hub.auth import SCOPES
from hub.db import begin_write, db
from hub.errors import NotFound, ValidationFailed
from hub.limits import client_address, limiter
from hub.oauth.server import Issuer, metadata, server
from hub.services import oauth
from hub.web import csrf
from hub.web.session import current_web_user

bp = Blueprint("oauth", __name__)
log = logging.getLogger(__name__)


@bp.record_once
def _warn_of_the_old_refresh_setting(state: BlueprintSetupState) -> None:
    """HUB_OAUTH_REFRESH_TOKEN_TTL was a refresh token's lifetime from its issue; hub.config still reads it
    as the idle lifetime when HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS is unset. Said as each app is built."""
    if not os.environ.get("HUB_OAUTH_REFRESH_TOKEN_TTL"):
        return
    if os.environ.get("HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS"):
        log.warning("HUB_OAUTH_REFRESH_TOKEN_TTL is ignored: HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS is set; remove it")
        return
    log.warning(
        "HUB_OAUTH_REFRESH_TOKEN_TTL is deprecated: rename it HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS (its value, %s s, "
        "is used as that: how long a connection may go unused before its refresh token stops working)",
        state.app.config["HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS"],
    )


# What a browser-based MCP client (an in-browser inspector) fetches across
# origins. None of them reads a cookie, so any origin may; /oauth/authorize
# (the signed-in person's) and introspection (confidential clients) may not.
CROSS_ORIGIN = frozenset({"server_metadata", "resource_metadata", "register", "token", "revoke"})
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, MCP-Protocol-Version",
    "Access-Control-Max-Age": "86400",
}


@bp.after_request
def _cross_origin(response):
    if (request.endpoint or "").removeprefix("oauth.") in CROSS_ORIGIN:
        response.headers.update(CORS_HEADERS)
    return response


@bp.get("/.well-known/oauth-authorization-server")
def server_metadata():
    return jsonify(metadata())


@bp.get(resources.METADATA_PATH)
@bp.get(f"{resources.METADATA_PATH}/connectors/<key>")
def resource_metadata(key: str | None = None):
    """RFC 9728: the REST API's metadata, or a mounted connector's (the MCP endpoint's)."""
    if key is None:
        resource, scopes = resources.base_url(), list(SCOPES)
    elif key in resources.mounted_keys():
        resource, scopes = resources.connector_resource(key), plugins.mounted()[key].summary().get("scopes", [])
    else:
        raise NotFound(f"No connector '{key}' is mounted on this hub.")
    return jsonify(
        {
            "resource": resource,
            "authorization_servers": [current_app.config["HUB_BASE_URL"]],
            "scopes_supported": scopes,
            "bearer_methods_supported": ["header"],
            "resource_name": f"CodeTether Hub ({key})" if key else "CodeTether Hub API",
            "resource_documentation": f"{current_app.config['HUB_BASE_URL']}/docs",
        }
    )


def _registration_limit() -> str:
    return str(current_app.config["HUB_OAUTH_REGISTRATION_RATE_LIMIT"])


@bp.post("/oauth/register")
@limiter.limit(_registration_limit, key_func=client_address, scope="oauth-register", methods=["POST"])
def register():
    """RFC 7591 dynamic client registration, open (no initial access token) as MCP clients expect."""
    if not current_app.config["HUB_OAUTH_REGISTRATION"]:
        raise NotFound("Client registration is turned off on this hub (HUB_OAUTH_REGISTRATION).")
    try:
        client, _secret, response = oauth.register_client(request.get_json(silent=True), ip=client_address())
    except ValidationFailed as error:
        (field,) = error.errors or {"body": []}
        code = "invalid_redirect_uri" if field == "redirect_uris" else "invalid_client_metadata"
        return jsonify(error=code, error_description=error.message, errors=error.errors), 400
    log.info("OAuth client %s registered itself from %s", client.client_id, client.registered_ip)
    return jsonify(response), 201, {"Cache-Control": "no-store"}


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize():
    user = current_web_user()
    try:
        grant = server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return _authorization_error(error)
    if user is None:
        return redirect(url_for("web_auth.login", next=request.full_path.rstrip("?")))
    client, scope = grant.client, grant.request.scope
    if request.method == "POST":
        csrf.protect()
        if request.form.get("decision") != "allow":
            return server.create_authorization_response(grant_user=None, grant=grant)
        try:  # the consent and the code are the chosen space's
            oauth.act_in_chosen_space(user, request.form.get("space"))
        except ValidationFailed as error:
            return _consent_page(grant, user, oauth.consent_spaces(user), error=error.message), 400
        oauth.remember_consent(user, client, scope)
        return server.create_authorization_response(grant_user=user, grant=grant)
    # An app allowed before skips the page only when there is no space to
    # choose (no organisation): else where it acts is asked every time, as
    # the consent remembered is one space's and the person may want another.
    choices = oauth.consent_spaces(user)
    if len(choices) == 1:
        oauth.act_in_chosen_space(user, None)  # not the dashboard's chosen space
        if oauth.has_consent(user, client, scope):
            return server.create_authorization_response(grant_user=user, grant=grant)
    return _consent_page(grant, user, choices)


def _consent_page(grant, user, choices, error: str | None = None) -> str:
    return render_template(
        "consent.html",
        client=grant.client,
        user=user,
        scopes=oauth.scope_descriptions(grant.request.scope),
        resource=getattr(grant, "resource", None),
        spaces=choices if len(choices) > 1 else [],
        error=error,
    )


def _authorization_error(error: OAuth2Error):
    """Errors about the client or its redirect URI are shown here and never
    redirected (RFC 6749 §4.1.2.1); others go back to the client with iss."""
    if error.redirect_uri:
        response = server.handle_error_response(None, error)
        Issuer().add_issuer_parameter(server, response)
        return response
    return render_template(
        "oauth_error.html", error=error.error, description=error.description, user=current_web_user()
    ), 400


def _failed(response) -> bool:
    """A wrong client secret, code, refresh token (4xx), or introspection of
    a token that is not live: what a guesser sees most."""
    if response.status_code >= 400:
        return True
    return request.endpoint == "oauth.introspect" and (response.get_json(silent=True) or {}).get("active") is False


# One count per address across the endpoints that check a client secret or a token.
_secret_checks = limiter.shared_limit(
    lambda: current_app.config["HUB_TOKEN_RATE_LIMIT"],
    scope="oauth-secrets",
    key_func=client_address,
    deduct_when=_failed,
)


@bp.post("/oauth/token")
@_secret_checks
def token():
    # One write transaction per token request: claiming the code or refresh
    # token and storing the new tokens commit together, or not at all.
    begin_write()
    response = None
    try:
        response = server.create_token_response()
        return response
    finally:
        if response is not None and response.status_code == 200:
            db.session.commit()
        else:
            db.session.rollback()


@bp.post("/oauth/revoke")
@_secret_checks
def revoke():
    return server.create_endpoint_response("revocation")


@bp.post("/oauth/introspect")
@_secret_checks
def introspect():
    return server.create_endpoint_response("introspection")
