"""authlib's authorization server, wired to the hub's models and services.

Only the authorization code grant (with PKCE, S256 only) and the refresh
token grant are registered: no password grant, no implicit grant. Both take
RFC 8707's ``resource``: a token names the one resource it is for.
"""

from __future__ import annotations

from typing import ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import current_app, request

from hub.auth import SCOPES
from hub.errors import ValidationFailed
from hub.protected_resources import known_resources
from hub.services import oauth

CLIENT_AUTH = ["client_secret_basic", "client_secret_post"]


class HubRequest(FlaskOAuth2Request):
    """The request as the public sees it: behind a TLS proxy Flask sees
    http://, but HUB_BASE_URL is the hub's real address."""

    def __init__(self, flask_request):
        super().__init__(flask_request)
        self.uri = current_app.config["HUB_BASE_URL"] + flask_request.full_path.rstrip("?")


class HubAuthorizationServer(AuthorizationServer):
    def create_oauth2_request(self, request_):
        return HubRequest(request)


class S256Challenge(CodeChallenge):
    """PKCE with S256 only (``plain`` is refused), required for every client
    but a confidential one registered with --no-pkce."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Send code_challenge_method=S256 ('plain' is not accepted).")
        if grant.request.client.pkce_required and not data.get("code_challenge"):
            raise InvalidRequestError("This client must use PKCE: send code_challenge with code_challenge_method=S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        code = grant.request.authorization_code
        if grant.request.client.pkce_required and not code.code_challenge:
            raise InvalidRequestError("This client must use PKCE.")
        super().validate_code_verifier(grant, result)


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the resource asked for is unknown, or not this grant's."""

    error = "invalid_target"


def _target(params, granted: str | None, **where) -> str | None:
    """The ``resource`` a request's ``params`` name (RFC 8707), as ``oauth.target_resource`` rules."""
    try:
        return oauth.target_resource(params.getlist("resource"), granted, known_resources())
    except ValidationFailed as error:
        raise InvalidTargetError(error.message.removeprefix("resource: "), **where) from None


class ResourceGrant(grants.BaseGrant):
    """Saves its tokens for the resource the request chose (``self.resource``)."""

    resource: str | None = None

    def save_token(self, token):
        oauth.save_token(
            token,
            client=self.request.client,
            user=self.request.user,
            code=self.request.authorization_code,
            rotated_from=self.request.refresh_token,
            resource=self.resource,
        )


class AuthorizationCodeGrant(ResourceGrant, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [*CLIENT_AUTH, "none"]

    def validate_authorization_request(self):
        redirect_uri = super().validate_authorization_request()
        self.resource = _target(request.args, None, redirect_uri=redirect_uri, state=self.request.payload.state)
        return redirect_uri

    def validate_token_request(self):
        super().validate_token_request()
        self.resource = _target(request.form, self.request.authorization_code.resource)

    def save_authorization_code(self, code, request_):
        data = request_.payload.data
        oauth.save_code(
            code,
            client=request_.client,
            user=request_.user,
            redirect_uri=request_.payload.redirect_uri,
            scope=request_.scope,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            resource=self.resource,
        )

    def query_authorization_code(self, code, client):
        return oauth.claim_code(code, client)

    def delete_authorization_code(self, authorization_code):
        """Kept (marked used) so a replay can be recognised and punished."""

    def authenticate_user(self, authorization_code):
        return authorization_code.user


class RefreshTokenGrant(ResourceGrant, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [*CLIENT_AUTH, "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def validate_token_request(self):
        super().validate_token_request()
        self.resource = _target(request.form, self.request.refresh_token.resource)

    def authenticate_refresh_token(self, refresh_token):
        return oauth.claim_refresh_token(refresh_token, self.request.client)

    def authenticate_user(self, refresh_token):
        return refresh_token.user

    def revoke_old_credential(self, refresh_token):
        """Already spent by claim_refresh_token; its access token lives out its TTL."""


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH

    def query_token(self, token_string, token_type_hint):
        return oauth.find_token(token_string, token_type_hint)

    def revoke_token(self, token, request_):
        oauth.revoke_family(token)


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH

    def query_token(self, token_string, token_type_hint):
        return oauth.find_token(token_string, token_type_hint)

    def check_permission(self, token, client, request_):
        return token.client_pk == client.pk

    def introspect_token(self, token):
        return oauth.introspect(token)


class Issuer(IssuerParameter):
    def get_issuer(self):
        return current_app.config["HUB_BASE_URL"]


def _save_token(token, request_):
    raise NotImplementedError("each grant saves its own (ResourceGrant.save_token)")


def _expires_in(client, grant_type):
    return current_app.config["HUB_OAUTH_ACCESS_TOKEN_TTL"]


server = HubAuthorizationServer(query_client=oauth.find_client, save_token=_save_token)
server.scopes_supported = list(SCOPES)
server.register_token_generator(
    "default", BearerTokenGenerator(oauth.new_access_token, oauth.new_refresh_token, _expires_in)
)
server.register_grant(AuthorizationCodeGrant, [S256Challenge(required=True)])
server.register_grant(RefreshTokenGrant)
server.register_endpoint(Revocation)
server.register_endpoint(Introspection)
server.register_extension(Issuer())


def metadata() -> dict:
    """RFC 8414 server metadata."""
    base = current_app.config["HUB_BASE_URL"]
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": [*CLIENT_AUTH, "none"],
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{base}/docs",
    } | ({"registration_endpoint": f"{base}/oauth/register"} if current_app.config["HUB_OAUTH_REGISTRATION"] else {})
