"""Organisations: spaces several users share, their members and roles, and
invitations to join them.

Who may do what (``hub.services.spaces.CAN``): any member reads the org and
its members; an admin adds, re-roles and removes members and handles
invitations; only an owner makes or removes an owner, sets the tier or
deletes the org; an org always keeps an owner. A member may leave. An owner
gives an org a tier up to their own. An actor of None is the CLI (a hub
admin): no role check.

A credential acts in one space. One acting in the user's personal space (or
the signed-in dashboard) reaches every org the user belongs to, with the
user's role there; one made for an org reaches that org only: a key given to
org A's CI must not manage org B. Each change and its entry in the org's
audit log are committed together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from hub.crypto import hash_secret
from hub.db import begin_write, db, new_id, rows_changed, utcnow
from hub.errors import Conflict, Forbidden, HubError, NotFound, ValidationFailed
from hub.models import Invitation, Membership, Space, User, WorkerToken
from hub.models.spaces import ROLES
from hub.services import accounts, audit, spaces
from hub.tiers import TIERS

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}[a-z0-9]")
SLUG_RULE = "Use 2 to 64 characters: lowercase letters, digits and '-' (not first or last)."
MAX_NAME = 200
INVITATION_PREFIX = "cti_"
MAX_INVITATION_DAYS = 90


class InvitationExpired(HubError):
    status = 410
    code = "invitation_expired"


# --- reading ---------------------------------------------------------------


def spaces_of(user: User) -> list[tuple[Space, str]]:
    """Every space the user belongs to with their role there: the personal
    space first, then organisations by name."""
    rows = db.session.execute(
        select(Space, Membership.role)
        .join(Membership, Membership.space_pk == Space.pk)
        .where(Membership.user_pk == user.pk, Space.deleted_at.is_(None))
    ).all()
    found = [(space, role) for space, role in rows]
    found.sort(key=lambda pair: (not pair[0].personal, pair[0].name.casefold(), pair[0].pk))
    return found


def all_orgs() -> list[tuple[Space, int]]:
    """Every organisation with its number of members, by name (the CLI's list)."""
    rows = db.session.execute(
        select(Space, func.count(Membership.pk))
        .outerjoin(Membership, Membership.space_pk == Space.pk)
        .where(Space.kind == "org", Space.deleted_at.is_(None))
        .group_by(Space.pk)
        .order_by(Space.name, Space.pk)
    ).all()
    return [(space, count) for space, count in rows]


def get_org(user: User | None, org: str) -> Space:
    """An organisation by id or slug; NotFound unless ``user`` is a member
    reachable from the space it acts in (None: the CLI, any org)."""
    space = _find(org)
    if user is not None and _role(user, space) is None:
        raise NotFound(f"No organisation '{org}'.")
    return space


def role_in(user: User, org: str) -> str:
    """The user's role in an organisation (NotFound as ``get_org``)."""
    space = _find(org)
    role = _role(user, space)
    if role is None:
        raise NotFound(f"No organisation '{org}'.")
    return role


def members(user: User | None, org: str) -> list[Membership]:
    """The org's members, strongest role first, then by username; each
    ``Membership.user`` loaded."""
    space = get_org(user, org)
    rows = list(
        db.session.scalars(
            select(Membership).options(joinedload(Membership.user)).where(Membership.space_pk == space.pk)
        )
    )
    rows.sort(key=lambda m: (ROLES.index(m.role), m.user.username.casefold()))
    return rows


def invitations(actor: User | None, org: str) -> list[Invitation]:
    """The org's pending invitations (not used, revoked or expired), newest first."""
    space = _checked(actor, org, "manage")
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.space_pk == space.pk,
                Invitation.used_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.pk.desc())
        )
    )


# --- changing --------------------------------------------------------------


def create_org(
    owner: User, name: str, *, slug: str | None = None, tier: str = "free", actor: User | None = None
) -> Space:
    """A new organisation with ``owner`` as its owner and its own ``global``
    codebase. The slug is made from the name unless given."""
    name = _check_name(name)
    slug = _check_slug(slug) if slug is not None else _slug_from(name)
    _check_tier(tier)
    # The web and the API act through a credential; the CLI passes a user loaded as is.
    actor = actor or (owner if owner.credential else None)
    _within_own_tier(actor, tier)
    begin_write()
    try:
        if db.session.scalar(select(Space.pk).where(Space.slug == slug)) is not None:
            raise _slug_taken(slug)
        space = spaces.new_space("org", name, slug=slug, tier=tier)
        spaces.furnish(space, owner)
        audit.record(
            actor,
            "org.created",
            space_pk=space.pk,
            target=slug,
            detail={"name": name, "tier": tier, "owner": owner.username},
        )
        db.session.commit()
    except IntegrityError:  # the same slug committed by another request meanwhile
        db.session.rollback()
        raise _slug_taken(slug) from None
    except BaseException:
        db.session.rollback()
        raise
    return space


def add_member(actor: User | None, org: str, username: str, role: str = "member") -> Membership:
    _check_role(role)
    with _writing():
        space = _checked(actor, org, "manage", lock=True)
        if role == "owner":
            _require(actor, space, "own")
        user = _user(username)
        if _membership(space, user) is not None:
            raise Conflict(f"{user.username} is already a member.", code="already_member")
        membership = Membership(space_pk=space.pk, user_pk=user.pk, role=role)
        db.session.add(membership)
        audit.record(actor, "member.added", space_pk=space.pk, target=user.username, detail={"role": role})
        db.session.commit()
    return membership


def set_role(actor: User | None, org: str, username: str, role: str) -> Membership:
    _check_role(role)
    with _writing():
        space = _checked(actor, org, "manage", lock=True)
        membership = _member(space, username)
        if membership.role == role:
            db.session.commit()
            return membership
        if "owner" in (role, membership.role):
            _require(actor, space, "own")
        if membership.role == "owner":
            _keep_an_owner(space)
        before, membership.role = membership.role, role
        audit.record(
            actor, "member.role_changed", space_pk=space.pk, target=username, detail={"from": before, "to": role}
        )
        db.session.commit()
    return membership


def remove_member(actor: User | None, org: str, username: str) -> None:
    """Remove a member (a member may remove themselves: leave). Their
    credentials and hooks in the org end with it (``spaces.end_membership``)."""
    with _writing():
        space = _find(org)
        leaving = actor is not None and actor.username == username and _role(actor, space) is not None
        space = _checked(actor, org, "read" if leaving else "manage", lock=True)
        membership = _member(space, username)
        if membership.role == "owner":
            if not leaving:
                _require(actor, space, "own")
            _keep_an_owner(space)
        spaces.end_membership(membership)
        audit.record(actor, "member.removed", space_pk=space.pk, target=username, detail={"role": membership.role})
        db.session.commit()


def set_tier(actor: User | None, org: str, tier: str) -> Space:
    _check_tier(tier)
    with _writing():
        space = _checked(actor, org, "own", lock=True)
        _within_own_tier(actor, tier)
        if space.tier != tier:
            before, space.tier = space.tier, tier
            audit.record(
                actor, "tier.changed", space_pk=space.pk, target=space.slug, detail={"from": before, "to": tier}
            )
        db.session.commit()
    return space


def delete_org(actor: User | None, org: str) -> None:
    """Delete an organisation: its members lose it and every credential made
    for it (API keys, app tokens, worker tokens) stops working. Its rows are
    kept (marked deleted), and its slug is free again."""
    with _writing():
        space = _checked(actor, org, "own", lock=True)
        slug, space.slug, space.deleted_at = space.slug, None, utcnow()
        db.session.execute(
            update(WorkerToken)
            .where(WorkerToken.space_pk == space.pk, WorkerToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        audit.record(actor, "org.deleted", space_pk=space.pk, target=slug, detail={"name": space.name})
        db.session.commit()


def invite(
    actor: User | None, org: str, role: str = "member", *, username: str | None = None, days: int = 7
) -> tuple[Invitation, str]:
    """An invitation to join with ``role``: by link (anyone holding the token)
    or for one user (only they may accept it). The plain token is returned
    once; only its SHA-256 is stored."""
    _check_role(role)
    if not 1 <= days <= MAX_INVITATION_DAYS:
        raise ValidationFailed("days", f"Use 1 to {MAX_INVITATION_DAYS} days.")
    with _writing():
        space = _checked(actor, org, "manage")
        if role == "owner":
            _require(actor, space, "own")
        if username is not None:
            user = _user(username)
            username = user.username
            if _membership(space, user) is not None:
                raise Conflict(f"{username} is already a member.", code="already_member")
        plain = new_id(INVITATION_PREFIX, 40)
        invitation = Invitation(
            id=new_id("inv_", 16),
            space_pk=space.pk,
            token_hash=hash_secret(plain),
            role=role,
            username=username,
            created_by_pk=actor.pk if actor else None,
            created_at=utcnow(),
            expires_at=utcnow() + timedelta(days=days),
        )
        db.session.add(invitation)
        audit.record(
            actor,
            "invitation.created",
            space_pk=space.pk,
            target=invitation.id,
            detail={"role": role, "username": username, "days": days},
        )
        db.session.commit()
    return invitation, plain


def invitation_for(token: str) -> Invitation:
    """The pending invitation a token is for (what a link shows before it is
    accepted); NotFound when unknown, revoked, used or expired, or its org is gone."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_secret(token or "")))
    if invitation is None or _refusal(invitation) is not None:
        raise NotFound(
            "No such invitation (it may have been used, revoked or have expired).", code="invitation_not_found"
        )
    return invitation


def _refusal(invitation: Invitation, user: User | None = None) -> HubError | None:
    """Why an invitation cannot be accepted (by ``user``), if it cannot."""
    space = db.session.get(Space, invitation.space_pk)
    if (
        space is None
        or space.deleted_at is not None
        or invitation.revoked_at is not None
        or (user is not None and invitation.username is not None and invitation.username != user.username)
    ):
        return NotFound("No such invitation (it may have been revoked).", code="invitation_not_found")
    if invitation.used_at is not None:
        return Conflict("This invitation has already been used.", code="invitation_used")
    if invitation.expires_at <= utcnow():
        return InvitationExpired("This invitation has expired: ask for a new one.")
    return None


def accept_invitation(user: User, token: str) -> Membership:
    """Join the org of an invitation. Unknown, revoked or someone else's:
    404; already used: 409; expired: 410."""
    with _writing():
        invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_secret(token or "")))
        if invitation is None:
            raise NotFound("No such invitation (it may have been revoked).", code="invitation_not_found")
        refusal = _refusal(invitation, user)
        if refusal is not None:
            raise refusal
        space = spaces.get_space(invitation.space_pk)
        _lock(space)  # two links accepted at once by one user: one membership
        if _membership(space, user) is not None:
            raise Conflict(f"You are already a member of {space.name}.", code="already_member")
        # Claimed by one statement: of two accepts at once, one wins.
        claimed = rows_changed(
            update(Invitation)
            .where(Invitation.pk == invitation.pk, Invitation.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if not claimed:
            raise Conflict("This invitation has already been used.", code="invitation_used")
        membership = Membership(space_pk=space.pk, user_pk=user.pk, role=invitation.role)
        db.session.add(membership)
        audit.record(
            user, "invitation.accepted", space_pk=space.pk, target=invitation.id, detail={"role": invitation.role}
        )
        audit.record(
            user,
            "member.added",
            space_pk=space.pk,
            target=user.username,
            detail={"role": invitation.role, "invitation": invitation.id},
        )
        db.session.commit()
    return membership


def revoke_invitation(actor: User | None, org: str, invitation_id: str) -> None:
    with _writing():
        space = _checked(actor, org, "manage")
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.space_pk == space.pk, Invitation.id == invitation_id)
        )
        if invitation is None or invitation.revoked_at is not None:
            raise NotFound(f"No invitation '{invitation_id}'.")
        if invitation.used_at is not None:
            raise Conflict("This invitation has already been used; remove the member instead.", code="invitation_used")
        invitation.revoked_at = utcnow()
        audit.record(actor, "invitation.revoked", space_pk=space.pk, target=invitation.id)
        db.session.commit()


# --- rules -----------------------------------------------------------------


def _find(org: str) -> Space:
    space = db.session.scalar(
        select(Space).where(Space.kind == "org", Space.deleted_at.is_(None), or_(Space.id == org, Space.slug == org))
    )
    if space is None:
        raise NotFound(f"No organisation '{org}'.")
    return space


def _role(user: User, space: Space) -> str | None:
    """The user's role in ``space`` as reached from the space the request
    acts in; None: not a member, or acting through a credential made for
    another org."""
    if user.space_pk == space.pk:
        return user.role
    if user.space_pk != user.personal_space_pk and user.credential != "web":
        return None
    found = spaces.standing(user, space.pk)
    return found.role if found else None


def _checked(actor: User | None, org: str, what: str, *, lock: bool = False) -> Space:
    """The org, if ``actor`` may do ``what`` there; ``lock``: its row held
    (PostgreSQL) so that two changes cannot each leave the other its last owner."""
    space = get_org(actor, org)
    if lock:
        _lock(space)
    _require(actor, space, what)
    return space


def _lock(space: Space) -> None:
    """Hold the org's row until the commit (PostgreSQL; SQLite's writers
    take turns anyway): membership changes to one org go one at a time."""
    db.session.execute(select(Space.pk).where(Space.pk == space.pk).with_for_update())


def _require(actor: User | None, space: Space, what: str) -> None:
    if actor is None:
        return
    role = _role(actor, space)
    if role is None:  # removed meanwhile (read again once the org's row is held)
        raise NotFound(f"No organisation '{space.slug}'.")
    if not spaces.allows(role, what):
        needed = spaces.CAN[what]
        raise Forbidden(
            f"Your role in this organisation is '{role}'; this needs '{needed}' or above.",
            code="insufficient_role",
            extra={"role": role, "required_role": needed},
        )


def _keep_an_owner(space: Space) -> None:
    owners = db.session.scalars(
        select(Membership.pk).where(Membership.space_pk == space.pk, Membership.role == "owner")
    ).all()
    if len(owners) <= 1:
        raise Conflict(
            "An organisation needs an owner: make another member owner first, or delete the organisation.",
            code="last_owner",
        )


def _membership(space: Space, user: User) -> Membership | None:
    return db.session.scalar(select(Membership).where(Membership.space_pk == space.pk, Membership.user_pk == user.pk))


def _member(space: Space, username: str) -> Membership:
    membership = db.session.scalar(
        select(Membership)
        .join(User, User.pk == Membership.user_pk)
        .where(Membership.space_pk == space.pk, User.username == username)
    )
    if membership is None:
        raise NotFound(f"No member '{username}'.")
    return membership


def _user(username: str) -> User:
    try:
        return accounts.get_user(username)
    except NotFound:
        raise ValidationFailed("username", f"No user named '{username}'.") from None


def _check_name(name: str | None) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise ValidationFailed("name", f"Use 1 to {MAX_NAME} characters.")
    return name


def _check_slug(slug: str) -> str:
    if not SLUG.fullmatch(slug):
        raise ValidationFailed("slug", SLUG_RULE)
    return slug


def _slug_from(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:64].strip("-")
    if not SLUG.fullmatch(slug):
        raise ValidationFailed("slug", f"No slug can be made from this name: give one. {SLUG_RULE}")
    return slug


def _slug_taken(slug: str) -> Conflict:
    message = f"The slug '{slug}' is taken: choose another."
    return Conflict(message, code="slug_taken", errors={"slug": [message]})


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed("role", f"Must be one of: {', '.join(ROLES)}.")


def _within_own_tier(actor: User | None, tier: str) -> None:
    """An owner may give an org a tier up to their own: the tier sets the
    limits of all work there, and an org must not be a way around one's own.
    The CLI (a hub admin) sets any."""
    if actor is not None and TIERS.index(tier) > TIERS.index(actor.tier):
        raise Forbidden(
            f"Your own tier is '{actor.tier}': an organisation you own may have that tier or a lower one. "
            "A hub admin sets higher ones (codetether-hub orgs set-tier).",
            code="tier_not_allowed",
            extra={"tier": actor.tier},
        )


def _check_tier(tier: str) -> None:
    if tier not in TIERS:
        raise ValidationFailed("tier", f"Must be one of: {', '.join(TIERS)}.")


@contextmanager
def _writing() -> Iterator[None]:
    """A write transaction, rolled back when the change is refused."""
    begin_write()
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
