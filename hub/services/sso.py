"""Users who sign in through OpenID Connect (Keycloak): provisioned on first
sign-in by the provider's ``sub``; the tier follows a role claim, and the
organisations and roles in them follow a groups claim (HUB_OIDC_GROUP_ORGS)."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hub.db import begin_write, db
from hub.errors import Conflict, ValidationFailed
from hub.models import Membership, Space, User
from hub.models.spaces import ROLES
from hub.services import accounts, audit, spaces
from hub.tiers import TIERS

log = logging.getLogger(__name__)


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


def roles_from_groups(claims: dict[str, Any]) -> dict[str, str]:
    """The organisations (by slug) the user's groups map to, each with the
    strongest role mapped. A group's subgroups count as the group: Keycloak
    lists only the groups a user was put in ("/acme/admins", not "/acme")."""
    value = claim_at(claims, current_app.config["HUB_OIDC_GROUPS_CLAIM"])
    value = [value] if isinstance(value, str) else value
    groups = [g for g in value if isinstance(g, str)] if isinstance(value, list) else []
    roles: dict[str, str] = {}
    for mapped, (slug, role) in current_app.config["HUB_OIDC_GROUP_ORGS"].items():
        if any(g == mapped or g.startswith(mapped.rstrip("/") + "/") for g in groups):
            roles[slug] = min(role, roles.get(slug, role), key=ROLES.index)
    return roles


def apply_groups(user: User, claims: dict[str, Any]) -> None:
    """At an SSO sign-in: make the user's memberships in the organisations
    that HUB_OIDC_GROUP_ORGS names what the groups claim maps to. Joins, role
    changes and departures go in each organisation's audit log (credential
    "sso"). Organisations the mapping does not name are left alone (their
    members are managed in the hub), and so is a membership made in the hub
    (``Membership.source``); one that would lose its last owner keeps that
    owner. No write when nothing changes (the common case)."""
    if not current_app.config["HUB_OIDC_GROUP_ORGS"]:
        return
    wanted = roles_from_groups(claims)
    if not _changes(user, wanted, warn=True):
        return
    begin_write()
    for space, membership, role in _changes(user, wanted, lock=True):
        if membership is None:
            db.session.add(Membership(space_pk=space.pk, user_pk=user.pk, role=role, source="sso"))
            _record("member.added", space, user, {"role": role})
        elif role is None:
            spaces.end_membership(membership)
            _record("member.removed", space, user, {"role": membership.role})
        else:
            _record("member.role_changed", space, user, {"from": membership.role, "to": role})
            membership.role = role
    db.session.commit()


def _changes(
    user: User, wanted: dict[str, str], *, lock: bool = False, warn: bool = False
) -> list[tuple[Space, Membership | None, str | None]]:
    """(organisation, the user's membership or None, the role it should have
    or None) where they differ. ``lock``: in a writing transaction, the
    organisations' rows locked, so that two sign-ins cannot both take an
    organisation's last owner."""
    slugs = {slug for slug, _ in current_app.config["HUB_OIDC_GROUP_ORGS"].values()}
    query = select(Space).where(Space.kind == "org", Space.slug.in_(slugs), Space.deleted_at.is_(None))
    if lock:
        query = query.order_by(Space.pk).with_for_update().execution_options(populate_existing=True)
    orgs = {str(space.slug): space for space in db.session.scalars(query)}  # slugs: the mapped ones
    held = {
        m.space_pk: m
        for m in db.session.scalars(
            select(Membership)
            .where(Membership.user_pk == user.pk, Membership.space_pk.in_([o.pk for o in orgs.values()]))
            .execution_options(populate_existing=True)
        )
    }
    changes = []
    for slug, space in orgs.items():
        membership, role = held.get(space.pk), wanted.get(slug)
        if (membership.role if membership else None) == role:
            continue
        if membership is not None and membership.source != "sso":
            continue  # made in the hub (a member added by hand): the hub's to change, not the groups'

        if membership is not None and membership.role == "owner" and _last_owner(space):
            if warn:
                log.warning("SSO groups would leave organisation '%s' without an owner: %s stays", slug, user.username)
            continue
        changes.append((space, membership, role))
    if warn:
        for slug in sorted(set(wanted) - set(orgs)):
            log.warning("SSO groups map %s to organisation '%s', which does not exist", user.username, slug)
    return changes


def _last_owner(space: Space) -> bool:
    owners = select(func.count()).where(Membership.space_pk == space.pk, Membership.role == "owner")
    return (db.session.scalar(owners) or 0) <= 1


def _record(action: str, space: Space, user: User, detail: dict[str, Any]) -> None:
    audit.record(None, action, space_pk=space.pk, target=user.username, detail=detail, credential="sso")
