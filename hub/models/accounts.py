from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Model, utcnow
from hub.tiers import TIERS as TIERS  # re-exported: the column holds one of them


class User(Model):
    __tablename__ = "users"

    pk: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The subject (``sub``) at the OpenID Connect provider, for SSO users.
    oidc_sub: Mapped[str | None] = mapped_column(String(255), unique=True)
    tier: Mapped[str] = mapped_column(String(20), default="free")
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped to end every web session of the user (sign-out, password change, disable).
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # A disabled user signs in nowhere and its credentials stop working.
    disabled_at: Mapped[datetime | None]


class ApiKey(Model):
    """A ``ct_`` key for scripts. Only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")
