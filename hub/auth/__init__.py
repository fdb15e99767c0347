"""Who is calling, and what they may do.

Every ``/api/v1`` view is wrapped by ``Blueprint.auth(scope)``, which calls
``authenticate()`` and then ``require_scope()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, request

from hub.errors import Forbidden, Unauthorized
from hub.models import User

# The four scopes the Zapier app requests, then the two only API keys use.
SCOPES = {
    "tasks:read": "List and view your tasks",
    "tasks:write": "Create and cancel tasks",
    "messages:write": "Send messages",
    "codebases:read": "List your codebases",
    "messages:read": "Read your conversations",
    "codebases:write": "Create codebases",
}


# Held only by worker tokens, which hold nothing else: a worker can never pass
# a user's scope check, and no user credential can reach the worker API.
WORKER_SCOPE = "worker"


@dataclass(frozen=True)
class Principal:
    user: User | None  # None for a worker token
    scopes: frozenset[str]
    via: str  # "api_key" | "oauth" | "oidc"
    credential_id: str
    expires_at: datetime | None = None  # when the credential itself expires
    oauth_client_pk: int | None = None  # the app an OAuth token was issued to


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate() -> Principal:
    """Resolve the request's bearer credential, once per request."""
    principal = g.get("principal")
    if principal is not None:
        return principal
    token = bearer_token()
    if token is None:
        raise Unauthorized("Send 'Authorization: Bearer <token>' (an API key or an OAuth access token).", error="")
    from hub import limits
    from hub.auth import principals
    from hub.services import accounts, oauth, workers

    if token.startswith((accounts.API_KEY_PREFIX, oauth.ACCESS_PREFIX)):
        # The two kinds Zapier and scripts call with on every request.
        digest, remembered = accounts.hash_secret(token), principals.cache()
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
            from hub.auth.oidc import principal_for_jwt

            principal = principal_for_jwt(token)
        else:
            principal = None
    # A disabled user's credentials all stop at once: disabling is announced
    # to every process's cache (hub.auth.principals), and this covers every kind.
    if principal is None or (principal.user is not None and principal.user.disabled_at is not None):
        limits.count_auth_failure()
        raise Unauthorized("The access token is invalid, expired or revoked.")
    if principal.via == "api_key":
        accounts.record_key_use(principal.credential_id)
    g.principal = principal
    return principal


# The credentials a person holds themselves: an API key (the signed-in
# dashboard does not come through here). Only these manage the account's
# connected apps; an app's OAuth token must not disconnect another app.
FIRST_PARTY = frozenset({"api_key"})

Requirement = str | tuple[str, ...] | None


def needed_scopes(scope: Requirement) -> tuple[str, ...]:
    """A route's requirement as scopes of which any one will do."""
    return (scope,) if isinstance(scope, str) else tuple(scope or ())


def insufficient_scope(scopes: tuple[str, ...]) -> Forbidden:
    named = " or ".join(f"'{s}'" for s in scopes)
    return Forbidden(
        f"This token lacks the {named} scope.",
        code="insufficient_scope",
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(scopes)}"'},
        extra={"required_scope": " ".join(scopes)},
    )


def require_scope(principal: Principal, scope: Requirement, *, first_party: bool = False) -> None:
    """``scope``: one scope, or a tuple of which any one will do; None: any
    user credential (but not a worker's). ``first_party``: an API key only.
    A credential with no scopes at all holds none of them."""
    if (principal.user is None) != (scope == WORKER_SCOPE):
        kind = "the worker API" if principal.user is None else "users' routes"
        raise Forbidden(f"This credential is limited to {kind}.", code="wrong_credential")
    if first_party and principal.via not in FIRST_PARTY:
        raise Forbidden(
            "This takes an API key (or the signed-in dashboard), not an app's access token.",
            code="insufficient_scope",
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
        )
    needed = needed_scopes(scope)
    if needed and principal.scopes.isdisjoint(needed):
        raise insufficient_scope(needed)


def current_user() -> User:
    return g.principal.user
