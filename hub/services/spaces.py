"""Spaces and roles: the space a request acts in, and what its role there
allows.

A credential (API key, OAuth grant and its tokens, web session) acts in one
space. Authentication puts the user in it (``act_in``); the services then
see only that space's objects (``user.space_pk``) and check the user's role
there (``require_role``) before a change. A user no longer a member of the
credential's space has no access through it.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, delete, select, update

from hub.db import db, new_id, utcnow
from hub.errors import Forbidden, NotFound
from hub.models import ApiKey, Codebase, Membership, OAuthGrant, OAuthToken, Space, Subscription, Task, User
from hub.models.accounts import ACTING
from hub.models.codebases import GLOBAL_CODEBASE_ID
from hub.models.spaces import ROLES

# What each role may do, by the weakest role that may.
CAN = {
    "read": "viewer",
    "work": "member",  # create and cancel tasks, send messages, add codebases and hooks
    "manage": "admin",  # members, workers, webhooks and connected apps of the space
    "own": "owner",  # its tier, its deletion
}


def new_space(kind: str, name: str, *, slug: str | None = None, tier: str | None = None) -> Space:
    """A space, added and flushed, not committed: then ``furnish`` it."""
    space = Space(id=new_id("sp_", 16), kind=kind, name=name, slug=slug, tier=tier)
    db.session.add(space)
    db.session.flush()
    return space


def furnish(space: Space, owner: User) -> None:
    """Give a new space its owner and its ``global`` codebase (used when a
    task names none)."""
    db.session.add(Membership(space_pk=space.pk, user_pk=owner.pk, role="owner"))
    db.session.add(
        Codebase(
            id=GLOBAL_CODEBASE_ID,
            space_pk=space.pk,
            user_pk=owner.pk,
            name="Global",
            description="Used when a task names no codebase.",
        )
    )


class Standing(NamedTuple):
    role: str
    tier: str | None  # the space's own tier (an organisation's); None: the user's applies


_STANDING = (
    select(Membership.role, Space.tier)
    .join(Space, Space.pk == Membership.space_pk)
    .where(Membership.user_pk == bindparam("user_pk"), Membership.space_pk == bindparam("space_pk"))
    .where(Space.deleted_at.is_(None))
)  # built once: every credential's first request in a process asks it


def standing(user: User, space_pk: int) -> Standing | None:
    """The user's role in a space and the space's tier; None: not a member."""
    if space_pk == user.personal_space_pk:
        return Standing("owner", None)
    row = db.session.execute(_STANDING, {"user_pk": user.pk, "space_pk": space_pk}).first()
    return Standing(row.role, row.tier) if row else None


def act_in(user: User, space_pk: int, standing: Standing, credential: str | None = None) -> User:
    """Make this request's ``user`` act in a space with the standing it has
    there (``standing``), through ``credential`` (kept if None)."""
    credential = credential or user.credential
    user.__dict__[ACTING] = (space_pk, standing.role, standing.tier, credential)
    return user


_TASK_SPACE = select(Task.space_pk).where(Task.id == bindparam("task_id"))


def act_in_task_space(user: User, task_id: str) -> None:
    """Act in the space of task ``task_id``, for its page: the link in a
    GitHub issue or a Slack thread opens for every member of that space,
    whatever space they were working in. NotFound when the user is not a
    member there (or there is no such task): the API's answer for another's task."""
    space_pk = db.session.scalar(_TASK_SPACE, {"task_id": task_id})
    found = standing(user, space_pk) if space_pk is not None else None
    if space_pk is None or found is None:
        raise NotFound(f"No task '{task_id}'.")
    act_in(user, space_pk, found)


def acting(user: User) -> tuple[int, Standing, str | None]:
    """How ``user`` acts now: ``act_in(other, *acting(user))`` acts so again
    with the same user read in another session."""
    raw = user.__dict__.get(ACTING)
    if raw is None:
        return user.personal_space_pk, Standing("owner", None), None
    return raw[0], Standing(raw[1], raw[2]), raw[3]


def end_membership(membership: Membership) -> None:
    """Remove a member, in the caller's transaction. What they hold in the
    space ends with it: their API keys and app tokens acting there are
    revoked, their app grants there deleted, and their hooks there stop
    getting the space's events (deleted): else the org's task events would
    still reach a former member's Zap, and rejoining would bring it all back."""
    now = utcnow()
    space_pk, user_pk = membership.space_pk, membership.user_pk
    for model in (ApiKey, OAuthToken):
        db.session.execute(
            update(model)
            .where(model.user_pk == user_pk, model.space_pk == space_pk, model.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    db.session.execute(delete(OAuthGrant).where(OAuthGrant.user_pk == user_pk, OAuthGrant.space_pk == space_pk))
    db.session.execute(
        update(Subscription)
        .where(
            Subscription.user_pk == user_pk,
            Subscription.space_pk == space_pk,
            Subscription.task_id.is_(None),  # hooks; a task's callbacks are its task's
            Subscription.deleted_at.is_(None),
        )
        .values(deleted_at=now)
    )
    db.session.delete(membership)


def allows(role: str, what: str) -> bool:
    return ROLES.index(role) <= ROLES.index(CAN[what])


def require_role(user: User, what: str) -> None:
    """Refuse (403 ``insufficient_role``) what the user's role in the space
    it acts in does not allow."""
    if not allows(user.role, what):
        needed = CAN[what]
        raise Forbidden(
            f"Your role in this space is '{user.role}'; this needs '{needed}' or above.",
            code="insufficient_role",
            extra={"role": user.role, "required_role": needed},
        )


def get_space(space_pk: int) -> Space:
    space = db.session.get(Space, space_pk)
    assert space is not None  # spaces are deleted only with what they own
    return space
