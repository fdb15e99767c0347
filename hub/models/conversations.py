from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Model, utcnow
from hub.models.codebases import Codebase

MESSAGE_ROLES = ("user", "assistant")  # who wrote a message: the caller, or the agent replying


class Conversation(Model):
    """A thread of messages. ``id`` is unique per space and may come from the
    caller (a Slack ``thread_ts``), so one thread stays one conversation."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("space_pk", "id", name="uq_conversations_space_pk_id"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(255))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))  # who started it
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))
    codebase_pk: Mapped[int] = mapped_column(ForeignKey("codebases.pk"))
    # The external_id of the message that started it (each message's task
    # keeps its own), so the agent's replies can name the caller's thread.
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    codebase: Mapped[Codebase] = relationship(lazy="joined")


class Message(Model):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_pk_pk", "conversation_pk", "pk"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    conversation_pk: Mapped[int] = mapped_column(ForeignKey("conversations.pk", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))  # one of MESSAGE_ROLES
    content: Mapped[str] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation] = relationship(lazy="joined")
