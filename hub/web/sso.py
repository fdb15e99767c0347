"""Sign in with SSO: OpenID Connect code flow with PKCE (authlib client),
against Keycloak or any provider with discovery."""

from __future__ import annotations

import requests
from authlib.integrations.base_client import OAuthError
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError

from hub.auth import oidc
from hub.services import sso as sso_service
from hub.web.session import current_web_user, safe_next, sign_in

bp = Blueprint("web_sso", __name__)


def sso_enabled() -> bool:
    return oidc.sso_client() is not None and bool(current_app.config["HUB_OIDC_CLIENT_ID"])


@bp.get("/login/sso")
def start():
    if not sso_enabled():
        return _failed("Single sign-on is not set up on this hub.", 404)
    session["sso_next"] = safe_next(request.args.get("next"))
    callback = current_app.config["HUB_BASE_URL"] + url_for("web_sso.callback")
    return oidc.sso_client().authorize_redirect(callback)


@bp.get("/login/sso/callback")
def callback():
    if not sso_enabled():
        return _failed("Single sign-on is not set up on this hub.", 404)
    client = oidc.sso_client()
    try:
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if not claims:
            return _failed("The identity provider sent no ID token.", 400)
        claims = {**_userinfo(client, token, claims["sub"]), **claims}
        paths = [current_app.config["HUB_OIDC_TIER_CLAIM"]]
        if current_app.config["HUB_OIDC_GROUP_ORGS"]:
            paths.append(current_app.config["HUB_OIDC_GROUPS_CLAIM"])
        missing = [path for path in paths if sso_service.claim_at(claims, path) is None]
        if missing and str(token.get("access_token")).count(".") == 2:
            # Keycloak's default: realm roles only in the (signed) access token (a groups mapper may be set so too).
            from_access = oidc.verify(client, token["access_token"])
            for path in missing:
                if from_access.get("sub") == claims["sub"] and sso_service.claim_at(from_access, path) is not None:
                    claims[path.split(".")[0]] = from_access[path.split(".")[0]]
    except (OAuthError, JoseError, ValueError) as error:
        current_app.logger.warning("SSO sign-in failed: %s", getattr(error, "error", error))
        return _failed("Single sign-on failed; try again.", 400)
    user = sso_service.user_for_claims(claims)
    sso_service.apply_groups(user, claims)
    next_url = safe_next(session.pop("sso_next", None))
    sign_in(user)
    return redirect(next_url)


def _userinfo(client, token, sub: str) -> dict:
    """Claims a provider maps to userinfo only (Keycloak mappers with "Add to
    ID token" off); the verified ID token's claims take precedence."""
    if not client.load_server_metadata().get("userinfo_endpoint"):
        return {}
    try:
        info = client.userinfo(token=token)
    except (OAuthError, requests.RequestException) as error:
        current_app.logger.warning("SSO userinfo unavailable: %s", type(error).__name__)
        return {}
    return dict(info) if info.get("sub") == sub else {}


def _failed(message: str, status: int):
    return render_template(
        "login.html",
        next_url=safe_next(None),
        error=message,
        username="",
        user=current_web_user(),
        local=current_app.config["HUB_LOCAL_ACCOUNTS"],
        sso=sso_enabled(),
    ), status
