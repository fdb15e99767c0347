"""Users who sign in through OpenID Connect (Keycloak): provisioned on first
sign-in by the provider's ``sub``; the tier follows a role claim."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.db import begin_write, db
from hub.errors import Conflict, ValidationFailed
from hub.models import User
from hub.services import accounts
from hub.tiers import TIERS


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """``realm_access.roles`` -> claims["realm_access"]["roles"]."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def tier_from_claims(claims: dict[str, Any]) -> str:
    """The highest tier named by a role ``<prefix><tier>`` (or by the claim
    itself when it is a plain tier name); ``free`` when none."""
    value = claim_at(claims, current_app.config["HUB_OIDC_TIER_CLAIM"])
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    prefix = current_app.config["HUB_OIDC_TIER_ROLE_PREFIX"]
    named = {v[len(prefix) :] if v.startswith(prefix) else v for v in values if isinstance(v, str)}
    return max((t for t in TIERS if t in named), key=TIERS.index, default="free")


def user_for_claims(claims: dict[str, Any]) -> User:
    """Find the user with this ``sub``, or provision one; refresh the email,
    name and tier from the claims on every sign-in."""
    sub = claims.get("sub")
    if not sub:
        raise ValidationFailed("sub", "The identity provider sent no subject.")
    tier = tier_from_claims(claims)
    email = claims.get("email")
    name = claims.get("name") or " ".join(filter(None, [claims.get("given_name"), claims.get("family_name")])) or None
    user = db.session.scalar(select(User).where(User.oidc_sub == sub))
    if user is None:
        try:
            return accounts.create_user(_free_username(claims), email=email, name=name, tier=tier, oidc_sub=sub)
        except (IntegrityError, Conflict):
            # A concurrent first sign-in of the same person won the race.
            db.session.rollback()
            user = db.session.scalar(select(User).where(User.oidc_sub == sub))
            if user is None:
                raise
    fresh = (email or user.email, name or user.name, tier)
    if (user.email, user.name, user.tier) == fresh:
        return user  # the common case: no write
    begin_write()
    user = db.session.scalars(select(User).where(User.pk == user.pk)).one()
    user.email, user.name, user.tier = fresh
    db.session.commit()
    return user


def _free_username(claims: dict[str, Any]) -> str:
    base = claims.get("preferred_username") or (claims.get("email") or "").split("@")[0] or claims["sub"]
    # What accounts.check_username allows, with room for a "-N" suffix.
    base = re.sub(r"[^A-Za-z0-9._-]", "-", base)[:56] or "user"
    candidate, n = base, 1
    while db.session.scalar(select(User.pk).where(User.username == candidate)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate
