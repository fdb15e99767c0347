"""The audit log of each space: who changed its members, roles, keys, worker
tokens, connected apps, webhooks or tier, when, and with which credential."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, delete, select

from hub.db import begin_write, db, new_id, utcnow
from hub.errors import Forbidden, NotFound
from hub.models import AuditEntry, User
from hub.schemas import Page, fetch_page, paged
from hub.services import spaces

# The floor: an org must be able to answer "who did this" for a
# quarter, so no setting may keep entries for less (hub/config.py refuses it).
MIN_RETENTION_DAYS = 90
PRUNE_BATCH = 1000  # rows a prune deletes per transaction: a long backlog never holds the write lock long


def record(
    actor: User | None,
    action: str,
    *,
    space_pk: int | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    credential: str | None = None,
) -> None:
    """Add an entry in the caller's transaction (it commits): the change and
    its record stand or fall together. ``space_pk``: the space it concerns
    (default: the one ``actor`` acts in); ``actor`` None: the CLI or the hub
    itself. ``action``: "<object>.<verb>", e.g. "member.added". ``credential``:
    what made the change when not the actor's credential (e.g. "sso": a sign-in
    applied the identity provider's groups)."""
    if space_pk is None:
        assert actor is not None, "an entry without an actor names its space"
        space_pk = actor.space_pk
    db.session.add(
        AuditEntry(
            id=new_id("aud_", 16),
            space_pk=space_pk,
            at=utcnow(),
            actor_pk=actor.pk if actor else None,
            actor=actor.username if actor else None,
            credential=credential or (actor.credential if actor else None) or "cli",
            action=action,
            target=target,
            detail=detail,
        )
    )


_ENTRIES = paged(
    select(AuditEntry).where(AuditEntry.space_pk == bindparam("space_pk")).order_by(AuditEntry.pk.desc())
)  # built once: each page binds its values


def entries(actor: User | None, space_pk: int, *, page: int = 0, limit: int = 50) -> Page[AuditEntry]:
    """A page of a space's log, newest first. Only its admins and owners read
    it (403 ``insufficient_role``); a user who is not a member gets NotFound,
    as for anything else of another space. ``actor`` None: the CLI or a hub
    admin."""
    if actor is not None:
        standing = spaces.standing(actor, space_pk)
        if standing is None:
            raise NotFound("No such space among yours.")
        if not spaces.allows(standing.role, "manage"):
            needed = spaces.CAN["manage"]
            raise Forbidden(
                f"Your role in this space is '{standing.role}'; its audit log needs '{needed}' or above.",
                code="insufficient_role",
                extra={"role": standing.role, "required_role": needed},
            )
    return fetch_page(_ENTRIES, page=page, limit=limit, params={"space_pk": space_pk})


def prune(now: datetime | None = None) -> int:
    """Delete the entries older than HUB_AUDIT_RETENTION_DAYS (never younger
    than MIN_RETENTION_DAYS, whatever the config holds); returns how many.
    The delivery worker's sweeper calls it (hub.webhooks.sweeper)."""
    days = max(int(current_app.config["HUB_AUDIT_RETENTION_DAYS"]), MIN_RETENTION_DAYS)
    cutoff = (now or utcnow()) - timedelta(days=days)
    pruned = 0
    while True:
        begin_write()
        pks = db.session.scalars(
            select(AuditEntry.pk).where(AuditEntry.at < cutoff).order_by(AuditEntry.pk).limit(PRUNE_BATCH)
        ).all()
        if pks:
            db.session.execute(delete(AuditEntry).where(AuditEntry.pk.in_(pks)))
        db.session.commit()
        pruned += len(pks)
        if len(pks) < PRUNE_BATCH:
            return pruned
