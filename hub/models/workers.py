"""Agent workers: the tokens they authenticate with, the workers themselves,
and the output a running task streams back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Model, utcnow


class WorkerToken(Model):
    """A ``ctw_`` token an admin gives to agent workers. Only its SHA-256 is
    stored. It is not a user's credential: it reaches only the worker API."""

    __tablename__ = "worker_tokens"

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The one space whose tasks it claims; None: every space's (a hub-wide
    # token, an admin's explicit choice).
    space_pk: Mapped[int | None] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Worker(Model):
    """One running agent worker, registered under a token by its name.
    Empty ``codebases`` / ``agent_types`` mean "any"."""

    __tablename__ = "workers"
    __table_args__ = (UniqueConstraint("token_pk", "name", name="uq_workers_token_pk_name"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    token_pk: Mapped[int] = mapped_column(ForeignKey("worker_tokens.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    codebases: Mapped[list] = mapped_column(JSON, default=list)
    agent_types: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    token: Mapped[WorkerToken] = relationship(lazy="joined")


class TaskOutput(Model):
    """A chunk of a running task's output. A table of appended rows rather
    than a growing text column: an append is one small INSERT (no rewrite of
    a large row under the lock the state changes need), and readers can
    follow along with ``after`` = the last ``seq`` they saw."""

    __tablename__ = "task_outputs"
    __table_args__ = (Index("ix_task_outputs_task_pk_pk", "task_pk", "pk"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    task_pk: Mapped[int] = mapped_column(ForeignKey("tasks.pk", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
