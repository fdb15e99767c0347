"""Who is calling, and what they may do: the scopes, the ``Principal`` a
credential resolves to, and the scope checks.

Every ``/api/v1`` view is wrapped by ``Blueprint.auth(scope)``, which calls
``hub.auth.bearer.authenticate()`` and then ``require_scope()``. The services
import this module (they make principals); resolving a credential asks the
services, so it lives apart, in ``bearer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import g, request

from hub.errors import Forbidden, resource_metadata_parameter
from hub.models import User

# The four scopes the Zapier app requests, then the four only API keys use.
SCOPES = {
    "tasks:read": "List and view your tasks",
    "tasks:write": "Create and cancel tasks",
    "messages:write": "Send messages",
    "codebases:read": "List your codebases",
    "messages:read": "Read your conversations",
    "codebases:write": "Create codebases",
    "orgs:read": "See your spaces, organisations and their members",
    "orgs:write": "Create organisations; manage their members and invitations",
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
    audience: str | None = None  # RFC 8707: the one resource an OAuth token is for (None: any)
    space_pk: int | None = None  # the space the credential acts in (None: the user's personal space)
    role: str = "owner"  # the user's role there, when the credential was read
    space_tier: str | None = None  # that space's own tier (an organisation's)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


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
        headers={
            "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(scopes)}"'
            + resource_metadata_parameter()
        },
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
