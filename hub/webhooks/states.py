"""A delivery's status: the one place that says what may move where.

Every change of a delivery's status goes through here, in whichever form the
caller writes: ``transition`` for a loaded (locked) row, ``row`` for one row
of a bulk UPDATE by primary key, ``moving`` for an UPDATE that moves only the
rows still in a given status, ``created`` for a new delivery. Each checks the
move against ``TRANSITIONS`` (or ``REPLAYS``) first: an illegal move is a bug
in the caller, so it raises ``IllegalTransition`` before anything is written.
The checks are per statement or per row in memory, never a query.

The tables are the one in docs/webhooks.md ("Delivery states"); a test
compares them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Update, update

from hub.db import utcnow
from hub.models.webhooks import DELIVERY_STATUSES, Delivery

# A delivery is created claimed for its first attempt.
INITIAL = "sending"

TRANSITIONS: dict[str, frozenset[str]] = {
    # The attempt's outcome: 2xx; failed with retries left; failed for good
    # (no retries left, 410). Also `retrying` when the attempt is handed back
    # unsent (stalled endpoint), cut by a stopping worker, or its lease ran out.
    "sending": frozenset({"delivered", "retrying", "failed"}),
    # Claimed for its next attempt; or `failed` unsent, its hook deleted or
    # disabled meanwhile.
    "retrying": frozenset({"sending", "failed"}),
    # Final, except for a replay (REPLAYS).
    "delivered": frozenset(),
    "failed": frozenset(),
}

# A replay (its owner or an admin asked) starts a finished delivery over, with
# a fresh retry schedule. Only a replay may make these moves.
REPLAYS: dict[str, frozenset[str]] = {
    "delivered": frozenset({"retrying"}),
    "failed": frozenset({"retrying"}),
}

# The tables cover exactly the declared statuses: a new status needs its moves here.
if set(TRANSITIONS) != set(DELIVERY_STATUSES) or not (
    set(REPLAYS) | {INITIAL} | set().union(*TRANSITIONS.values(), *REPLAYS.values()) <= set(DELIVERY_STATUSES)
):
    raise RuntimeError("hub.webhooks.states: TRANSITIONS must cover exactly DELIVERY_STATUSES")


class IllegalTransition(RuntimeError):
    """A caller tried a move the tables do not allow (a bug, not bad input)."""


def allowed(source: str, new: str, *, replay: bool = False) -> bool:
    """May a delivery in ``source`` move to ``new`` (by a replay: only as a replay may)?"""
    return new in (REPLAYS if replay else TRANSITIONS).get(source, ())


def check(source: str, new: str, *, replay: bool = False, delivery: str = "a delivery") -> None:
    if not allowed(source, new, replay=replay):
        how = "by a replay" if replay else "(only a replay may)" if allowed(source, new, replay=True) else ""
        raise IllegalTransition(
            f"{delivery} cannot go from {source!r} to {new!r} {how}".rstrip()
            + "; see TRANSITIONS and REPLAYS in hub/webhooks/states.py."
        )


def transition(
    delivery: Delivery, new: str, *, replay: bool = False, now: datetime | None = None, **fields: Any
) -> None:
    """Move a loaded delivery (locked by the caller) to ``new`` and set
    ``fields``; the caller commits."""
    check(delivery.status, new, replay=replay, delivery=f"delivery {delivery.id}")
    for name, value in fields.items():
        setattr(delivery, name, value)
    delivery.status = new
    delivery.updated_at = now or utcnow()


def row(source: str, new: str, now: datetime, **values: Any) -> dict[str, Any]:
    """One row (``pk=`` and the other columns in ``values``) of a bulk
    ``UPDATE deliveries`` by primary key, for rows the caller read (and
    locked) in ``source``."""
    check(source, new)
    values["status"] = new
    values["updated_at"] = now
    return values


def moving(source: str, new: str, now: datetime) -> Update:
    """``UPDATE deliveries SET status = new WHERE status = source``: add the
    rest of the WHERE and values. A row no longer in ``source`` (recorded or
    taken back meanwhile) is left alone."""
    check(source, new)
    table = Delivery.__table__
    return update(table).where(table.c.status == source).values(status=new, updated_at=now)


def created(now: datetime, **values: Any) -> dict[str, Any]:
    """One row of an INSERT of a new delivery."""
    values.update(status=INITIAL, created_at=now, updated_at=now)
    return values
