from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Model, utcnow


class IdempotencyKey(Model):
    """A create request made with an ``Idempotency-Key``, and its first
    response. ``response_status`` is unset while the request is in flight."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_pk", "key_hash"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the key
    # SHA-256 of method, path and canonical body: same key, other request -> 422.
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
