from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Model, utcnow


class HealthCheck(Model):
    """A row the readiness probe writes (``/readyz``, hub/health.py): a
    database that answers reads but cannot commit a write (disk full, a
    read-only file or a standby server) is not ready."""

    __tablename__ = "health_checks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
