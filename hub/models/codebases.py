from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Model, utcnow

GLOBAL_CODEBASE_ID = "global"


class Codebase(Model):
    """A repository agents work on. ``id`` is unique per space: every space
    has a ``global`` codebase, used when a task names none."""

    __tablename__ = "codebases"
    __table_args__ = (UniqueConstraint("space_pk", "id", name="uq_codebases_space_pk_id"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(64))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))  # who created it
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str | None] = mapped_column(String(1024))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
