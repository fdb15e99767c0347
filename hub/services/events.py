"""The outbox: every change of state records an event in its own transaction.

Delivery (webhooks, worker wake-ups) reads the outbox after commit; see
``hub.events``.
"""
from __future__ import annotations

from hub.db import db, new_id
from hub.models import Event


def record(user_pk: int, type_: str, data: dict, *, task_id: str | None = None) -> Event:
    event = Event(id=new_id("evt_"), user_pk=user_pk, type=type_, task_id=task_id, data=data)
    db.session.add(event)
    db.session.info.setdefault("hub_events", []).append(event)
    return event
