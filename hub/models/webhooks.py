"""REST-hook subscriptions and the deliveries made to them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Model, utcnow
from hub.models.events import Event

if TYPE_CHECKING:
    from hub.models.accounts import User

# A delivery is `sending` while an attempt holds it (next_attempt_at is then
# the lease's end), `retrying` until next_attempt_at, then `delivered` or
# `failed` for good.
DELIVERY_STATUSES = ("sending", "retrying", "delivered", "failed")

# A per-task callback waits for one of CALLBACK_WAITS (its ``event``: its
# task's completion, or the agent's reply to a Send Message) and fires on
# that or on one of CALLBACK_ENDS, its task's other ends.
CALLBACK_WAITS = ("task.completed", "message.created")
CALLBACK_ENDS = ("task.failed", "task.cancelled")
# What a callback may also deliver before its end, each time it happens
# (``Subscription.progress_event``): an A2A push config tells of questions.
CALLBACK_PROGRESS = ("task.input_required",)

# A hook's filters (columns of Subscription): each, when set, must equal the
# event data's field of the same name (``hub.webhooks.delivery.subscribed``).
HOOK_FILTERS = ("codebase_id", "agent_type", "role")


class Subscription(Model):
    """A user's REST hook: POST events of one type to ``target_url``.

    ``secret_sealed`` is the ``whsec_`` signing secret encrypted with a key
    derived from SECRET_KEY (it must be usable to sign, so it cannot be
    hashed). Deleted subscriptions are kept (``deleted_at``) so their
    delivery log stays readable and a second DELETE is a no-op.

    A row with ``task_id`` is a per-task callback (``hub.services.callbacks``),
    not a hook; a task may have several. It gets one final delivery, when that
    task ends (``event`` is the success it waits for: ``task.completed``, or
    ``message.created`` for the agent's reply; the task's failure or
    cancellation ends it too), and before that one per ``progress_event``
    if it has one. Its URL is a secret like the signing secret: sealed in
    ``target_sealed``, while ``target_url`` holds only its scheme and host,
    for every page and list; ``headers_sealed`` holds the headers its caller
    asked for (an ``Authorization``), sealed JSON.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_space_event", "space_pk", "event"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))  # who subscribed
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    target_url: Mapped[str] = mapped_column(String(2048))
    task_id: Mapped[str | None] = mapped_column(String(40), index=True)
    target_sealed: Mapped[str | None] = mapped_column(Text)
    headers_sealed: Mapped[str | None] = mapped_column(Text)
    progress_event: Mapped[str | None] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(255))  # a callback's caller's own id for it (A2A's)
    codebase_id: Mapped[str | None] = mapped_column(String(64))
    agent_type: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str | None] = mapped_column(String(20))  # a message.created hook's: user or assistant
    format: Mapped[str] = mapped_column(String(40), default="standard")
    secret_sealed: Mapped[str] = mapped_column(Text)
    # The app whose OAuth token subscribed (None: an API key or the
    # dashboard): disconnecting that app deletes its subscriptions.
    oauth_client_pk: Mapped[int | None] = mapped_column(ForeignKey("oauth_clients.pk", ondelete="SET NULL"), index=True)
    failure_count: Mapped[int] = mapped_column(default=0)
    failing_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    # Loaded only where asked for (the admin's list): the delivery path,
    # which joins every delivery to its subscription, never needs the owner.
    user: Mapped[User] = relationship()

    @property
    def status(self) -> str:
        if self.deleted_at:
            return "deleted"
        return "disabled" if self.disabled_at else "active"


class Delivery(Model):
    """One event to one subscription, however many attempts it takes.

    The database, not Redis, says what is due: the sweeper re-enqueues
    `retrying` deliveries past ``next_attempt_at`` and `sending` ones whose
    lease ran out (the worker died mid-attempt).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_pk", "subscription_pk", name="uq_deliveries_event_pk_subscription_pk"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_deliveries_subscription_pk", "subscription_pk", "pk"),
        # A per-task callback ends once: its subscription has at most one final
        # delivery, whatever runs twice (partial: other deliveries are not in it).
        Index(
            "uq_deliveries_callback",
            "subscription_pk",
            unique=True,
            sqlite_where=text("callback IS NOT NULL"),
            postgresql_where=text("callback IS NOT NULL"),
        ),
    )

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.pk", ondelete="CASCADE"))
    subscription_pk: Mapped[int] = mapped_column(ForeignKey("subscriptions.pk", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    # True: a per-task callback's final delivery (None: a hook's, or a
    # callback's progress_event, each event once as for a hook).
    callback: Mapped[bool | None]
    attempts: Mapped[int] = mapped_column(default=0)
    # Attempts made before the current retry schedule began (a replay
    # starts a fresh schedule).
    schedule_start: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_latency_ms: Mapped[float | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[Event] = relationship(lazy="joined")
    subscription: Mapped[Subscription] = relationship(lazy="joined")
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(order_by="DeliveryAttempt.number", viewonly=True)


class DeliveryAttempt(Model):
    """The log: one row per HTTP attempt."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery_pk", "delivery_pk", "number"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    delivery_pk: Mapped[int] = mapped_column(ForeignKey("deliveries.pk", ondelete="CASCADE"))
    number: Mapped[int]
    started_at: Mapped[datetime]
    status_code: Mapped[int | None]
    latency_ms: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(Text)
