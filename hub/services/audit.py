"""The audit log of each space: who changed its members, roles, keys, worker
tokens, connected apps, webhooks or tier, when, and with which credential."""

from __future__ import annotations

from typing import Any

from hub.db import db, new_id, utcnow
from hub.models import AuditEntry, User


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
