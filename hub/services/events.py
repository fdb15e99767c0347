"""The outbox: every change of state records an event in its own transaction.

Delivery (webhooks, worker wake-ups) reads the outbox after commit; see
``hub.webhooks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from hub.db import db, new_id, utcnow
from hub.models import Event, Task, User
from hub.schemas import Page, fetch_page, paged

# A plain insert, not an ORM object: nothing reads the event back in the
# transaction that records it, and on SQLite the insert runs under the one
# write lock, where the ORM's flush bookkeeping costs more than the insert.
_INSERT = Event.__table__.insert()


def record(user_pk: int, space_pk: int, type_: str, data: dict[str, Any], *, task_id: str | None = None) -> str:
    """Add an event to the outbox in the caller's transaction; its id. It
    goes to the hooks of its space; ``user_pk``: whose change it is."""
    event_id = new_id("evt_")
    db.session.execute(
        _INSERT,
        {
            "id": event_id,
            "user_pk": user_pk,
            "space_pk": space_pk,
            "type": type_,
            "task_id": task_id,
            "data": data,
            "created_at": utcnow(),
        },
    )
    db.session.info.setdefault("hub_events", []).append(event_id)
    return event_id


def recent(
    user: User, type_: str, *, page: int = 0, limit: int = 50, match: Mapping[str, str] | None = None
) -> Page[Event]:
    """A page of the events of one type in the space the user acts in, newest
    first (trigger samples); with ``match``, only those whose data has these
    field values (a hook's filters, ``hub.models.webhooks.HOOK_FILTERS``)."""
    query = select(Event).where(Event.space_pk == user.space_pk, Event.type == type_)
    for name, value in (match or {}).items():
        query = query.where(Event.data[name].as_string() == value)
    return fetch_page(paged(query.order_by(Event.pk.desc())), page=page, limit=limit)


def envelope(event: Event) -> dict[str, Any]:
    """The Standard Webhooks shape of an event: ``{id, type, timestamp, data}``."""
    timestamp = event.created_at.isoformat(timespec="milliseconds") + "Z"
    return {"id": event.id, "type": event.type, "timestamp": timestamp, "data": event.data}


def for_task(task: Task) -> list[Event]:
    """A task's events, oldest first: its timeline."""
    return list(
        db.session.scalars(
            select(Event).where(Event.task_id == task.id, Event.space_pk == task.space_pk).order_by(Event.pk)
        )
    )
