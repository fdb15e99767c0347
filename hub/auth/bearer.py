"""Resolve a request's bearer credential to a ``Principal``: an API key, an
OAuth access token, a worker token or (resource-server mode) a JWT from the
OpenID Connect provider. An OAuth token issued for one resource (RFC 8707)
is refused on the others' routes."""

from __future__ import annotations

from flask import current_app, g, request

from hub import limits
from hub.auth import Principal, bearer_token, oidc, principals
from hub.crypto import hash_secret
from hub.errors import Unauthorized
from hub.protected_resources import resource_for_path
from hub.services import accounts, oauth, spaces, workers


def authenticate() -> Principal:
    """Resolve the request's bearer credential, once per request."""
    principal: Principal | None = g.get("principal")
    if principal is not None:
        return principal
    token = bearer_token()
    if token is None:
        raise Unauthorized("Send 'Authorization: Bearer <token>' (an API key or an OAuth access token).", error="")
    if token.startswith((accounts.API_KEY_PREFIX, oauth.ACCESS_PREFIX)):
        # The two kinds Zapier and scripts call with on every request.
        digest, remembered = hash_secret(token), principals.cache()
        principal, generation = remembered.lookup(digest)
        if principal is None:
            limits.check_auth_failures()
            if token.startswith(accounts.API_KEY_PREFIX):
                principal = accounts.principal_for_api_key(token)
            else:
                principal = oauth.principal_for_access_token(token)
            if principal is not None:
                remembered.keep(digest, principal, generation)
    else:
        limits.check_auth_failures()
        if token.startswith(workers.TOKEN_PREFIX):
            principal = workers.principal_for_token(token)
        elif token.count(".") == 2 and current_app.config.get("HUB_OIDC_AUDIENCE"):
            principal = oidc.principal_for_jwt(token)
        else:
            principal = None
    # A disabled user's credentials all stop at once: disabling is announced
    # to every process's cache (hub.auth.principals), and this covers every kind.
    if principal is None or (principal.user is not None and principal.user.disabled_at is not None):
        limits.count_auth_failure()
        raise Unauthorized("The access token is invalid, expired or revoked.")
    if principal.audience is not None and principal.audience != resource_for_path(request.path):
        # RFC 8707: a token for the MCP endpoint is no key to the REST API, nor the reverse.
        # A real token sent to the wrong place is no guess: not counted as a failure.
        raise Unauthorized(f"This access token is for {principal.audience}; get one for this resource.")
    if principal.via == "api_key":
        accounts.record_key_use(principal.credential_id)
    if principal.user is not None:
        spaces.act_in(
            principal.user,
            principal.space_pk or principal.user.personal_space_pk,
            spaces.Standing(principal.role, principal.space_tier),
            f"{principal.via}:{principal.credential_id}",
        )
    g.principal = principal
    return principal
