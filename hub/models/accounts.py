from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Model, utcnow
from hub.tiers import TIERS as TIERS  # re-exported: the column holds one of them

ACTING = "_hub_acting"  # (space_pk, role, the space's tier, credential) in a User's __dict__


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
    # Made with the user (hub.services.accounts.create_user).
    personal_space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk"))

    # The space a request acts in, the user's role there and the tier whose
    # limits apply: set from the credential by hub.services.spaces.act_in on
    # the request's own User instance, never stored. A User loaded any other
    # way acts in its personal space, as its owner, on its own tier.
    # Services filter by ``space_pk``.
    @property
    def space_pk(self) -> int:
        acting = self.__dict__.get(ACTING)
        return acting[0] if acting else self.personal_space_pk

    @property
    def role(self) -> str:
        acting = self.__dict__.get(ACTING)
        return acting[1] if acting else "owner"

    @property
    def working_tier(self) -> str:
        """An organisation's tier in its space, else the user's own."""
        acting = self.__dict__.get(ACTING)
        return (acting[2] if acting else None) or self.tier

    @property
    def credential(self) -> str | None:
        """How this request acts ("api_key:key_…", "oauth:tok_…", "web"), for
        the audit log; None: not through a credential (the CLI, the hub)."""
        acting = self.__dict__.get(ACTING)
        return acting[3] if acting else None


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
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))  # the space it acts in
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")
