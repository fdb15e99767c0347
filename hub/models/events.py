from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Model, utcnow

# Every event type, with the scope a credential needs to receive it: an
# event carries what that scope's GET routes show (a task, a message), so a
# hook must not hand it to a credential the API itself would refuse. Hook
# routes and connector validation read this table; add a type here or nowhere.
EVENT_SCOPES = {
    "task.created": "tasks:read",
    "task.started": "tasks:read",
    "task.input_required": "tasks:read",
    "task.completed": "tasks:read",
    "task.failed": "tasks:read",
    "task.cancelled": "tasks:read",
    "message.created": "messages:read",
}
EVENT_TYPES = tuple(EVENT_SCOPES)


class Event(Model):
    """The outbox: written in the same transaction as the change it records.

    ``data`` is the object as of that moment; ``dispatched_at`` is set when a
    worker has turned it into delivery rows (``hub.webhooks.delivery``), so the
    sweeper finds the ones whose job never reached Redis or never ran (crash
    or Redis outage between commit and enqueue). The worker, not the web
    request, stamps it: no second write transaction per request.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_space_type_pk", "space_pk", "type", "pk"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))  # whose change
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    task_id: Mapped[str | None] = mapped_column(String(40), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)
