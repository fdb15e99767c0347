"""The OpenID Connect provider (Keycloak): the hub's client of it (authlib),
and JWTs it signs, checked against its JWKS: access tokens accepted as bearer
tokens when HUB_OIDC_AUDIENCE is set (resource-server mode), and the roles in
the hub's own access token at SSO sign-in (Keycloak maps realm roles into
access tokens by default). The sign-in pages are ``hub.web.sso``."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from hub.auth import SCOPES, Principal
from hub.services import sso

# Asymmetric algorithms only: the keys come from the provider's JWKS.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


def init_app(app: Flask) -> None:
    """Register the provider's client when HUB_OIDC_ISSUER is set."""
    if not app.config["HUB_OIDC_ISSUER"]:
        return
    # One registry per app: settings differ between apps (tests, workers).
    registry = OAuth(app)
    registry.register(
        "sso",
        client_id=app.config["HUB_OIDC_CLIENT_ID"],
        client_secret=app.config["HUB_OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["HUB_OIDC_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={"scope": app.config["HUB_OIDC_SCOPES"], "code_challenge_method": "S256", "timeout": 10},
    )
    app.extensions["hub_sso"] = registry.create_client("sso")


def sso_client() -> Any:
    """The provider's client (authlib's FlaskOAuth2App), or None when no
    provider is set up."""
    return current_app.extensions.get("hub_sso")


def verify(client, token: str, audience: str | None = None) -> dict:
    """Claims of a provider-signed JWT; raises JoseError (or ValueError) when
    the signature, issuer, expiry or (if given) audience is wrong."""
    metadata = client.load_server_metadata()
    try:
        decoded = jwt.decode(token, KeySet.import_key_set(client.fetch_jwk_set()), algorithms=ALGORITHMS)
    except InvalidKeyIdError:  # the provider rotated its keys
        decoded = jwt.decode(token, KeySet.import_key_set(client.fetch_jwk_set(force=True)), algorithms=ALGORITHMS)
    checks = jwt.JWTClaimsRegistry(
        leeway=30,
        iss={"essential": True, "value": metadata["issuer"]},
        exp={"essential": True},
        sub={"essential": True},
    )
    if audience:
        checks.options["aud"] = {"essential": True, "value": audience}
    checks.validate(decoded.claims)
    return decoded.claims


def principal_for_jwt(token: str) -> Principal | None:
    client = sso_client()
    if client is None:
        return None
    try:
        claims = verify(client, token, current_app.config["HUB_OIDC_AUDIENCE"])
    except (JoseError, ValueError, KeyError) as error:
        current_app.logger.info("JWT bearer token refused: %s", type(error).__name__)
        return None
    user = sso.user_for_claims(claims)
    scopes = frozenset(str(claims.get("scope", "")).split()) & set(SCOPES)
    return Principal(user=user, scopes=scopes, via="oidc", credential_id=str(claims.get("jti") or claims["sub"]))
