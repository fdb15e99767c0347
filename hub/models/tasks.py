from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, select, text
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from hub.db import Model, utcnow
from hub.models.codebases import Codebase
from hub.models.conversations import Conversation

AGENT_TYPES = ("build", "plan", "general", "explore")
STATUSES = ("pending", "running", "input_required", "completed", "failed", "cancelled")
# Unfinished: each holds one of the tier's concurrent-task slots. A task whose
# agent asked a question (input_required) keeps its slot: the reply resumes it
# and must never be refused for want of one.
ACTIVE_STATUSES = ("pending", "running", "input_required")


EXTERNAL_ID_MAX = 255  # a caller's reference; metadata's bounds are in hub.schemas (CallerMetadata)


def _when_set(column: str) -> dict[str, Any]:
    """A partial index's condition: only rows where ``column`` is set."""
    condition = text(f"{column} IS NOT NULL")
    return {"sqlite_where": condition, "postgresql_where": condition}


class Task(Model):
    __tablename__ = "tasks"
    __table_args__ = (
        # The API's list: a space's tasks newest first, optionally by status.
        Index("ix_tasks_space_created", "space_pk", "created_at", "pk"),
        Index("ix_tasks_space_status_created", "space_pk", "status", "created_at", "pk"),
        Index("ix_tasks_space_completed", "space_pk", "completed_at"),
        # The failed_* and cancelled_* filters. Partial: a task enters one of
        # them only when it ends so, and a create writes neither.
        Index("ix_tasks_space_failed", "space_pk", "failed_at", **_when_set("failed_at")),
        Index("ix_tasks_space_cancelled", "space_pk", "cancelled_at", **_when_set("cancelled_at")),
        # The external_id filter, in the list's order (else SQLite walks the
        # space's tasks newest first to spare a sort); only tasks that have one.
        Index("ix_tasks_space_external_id", "space_pk", "external_id", "created_at", "pk", **_when_set("external_id")),
        # Workers claim by priority, then age.
        Index("ix_tasks_status_priority", "status", "priority", "created_at"),
        # The lease sweep: running tasks whose worker stopped renewing.
        Index("ix_tasks_status_lease", "status", "lease_expires_at"),
    )

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))  # who created it
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))
    codebase_pk: Mapped[int] = mapped_column(ForeignKey("codebases.pk"))
    conversation_pk: Mapped[int | None] = mapped_column(ForeignKey("conversations.pk"))
    title: Mapped[str] = mapped_column(String(500))
    prompt: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    agent_type: Mapped[str] = mapped_column(String(20), default="build")
    model: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(default=0)
    result: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int] = mapped_column(default=0)
    max_retries: Mapped[int] = mapped_column(default=3)
    duration_seconds: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # The caller's reference (a Slack ts, an email id, owner/repo#123): not
    # unique, the caller decides what it means. ``metadata`` is theirs too:
    # string keys to short strings (None when empty), shown as given.
    external_id: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_MAX))
    metadata_: Mapped[dict[str, str] | None] = mapped_column("metadata", JSON(none_as_null=True))
    # Where the task's callback goes, cut to its scheme and host: the URL is a
    # secret, sealed in the callback's own row (hub.services.callbacks).
    callback_shown_url: Mapped[str | None] = mapped_column(String(300))
    # Held while running: the worker that claimed it, until when.
    worker_pk: Mapped[int | None] = mapped_column(ForeignKey("workers.pk", ondelete="SET NULL"))
    lease_expires_at: Mapped[datetime | None]

    codebase: Mapped[Codebase] = relationship()
    conversation: Mapped[Conversation | None] = relationship()

    # The public ids every representation shows, read with the task itself:
    # joining whole codebase and conversation rows into each task of a list
    # cost more than the list's query. Neither changes after creation.
    codebase_id: Mapped[str] = column_property(
        select(Codebase.id).where(Codebase.pk == codebase_pk).correlate_except(Codebase).scalar_subquery(),
        expire_on_flush=False,
    )
    conversation_id: Mapped[str | None] = column_property(
        select(Conversation.id)
        .where(Conversation.pk == conversation_pk)
        .correlate_except(Conversation)
        .scalar_subquery(),
        expire_on_flush=False,
    )
