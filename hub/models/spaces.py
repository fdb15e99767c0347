"""Spaces: where work lives. Every user has a personal space; an organisation
is a space several users share, each with a role. Codebases, tasks,
conversations, events, webhook subscriptions and worker tokens belong to one
space (their ``space_pk``); who created them stays in their ``user_pk``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Model, utcnow
from hub.models.accounts import User

SPACE_KINDS = ("personal", "org")
# Strongest first: each role may do all that the roles after it may.
ROLES = ("owner", "admin", "member", "viewer")


class Space(Model):
    __tablename__ = "spaces"

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    # An organisation's slug, unique among organisations (None: personal).
    slug: Mapped[str | None] = mapped_column(String(64), unique=True)
    # An organisation's tier; a personal space follows its user's tier (None).
    tier: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    @property
    def personal(self) -> bool:
        return self.kind == "personal"


class Membership(Model):
    """A user's role in a space. A personal space has one: its user, owner."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("space_pk", "user_pk", name="uq_memberships_space_pk_user_pk"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # "sso": made by the SSO groups mapping (hub.services.sso), which alone
    # changes or removes it; "hub": made in the hub, which SSO leaves alone.
    source: Mapped[str] = mapped_column(String(10), default="hub", server_default="hub")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    space: Mapped[Space] = relationship(lazy="joined")
    # Loaded on demand (hub.services.orgs.members loads it with the rows).
    user: Mapped[User] = relationship()


class Invitation(Model):
    """An invitation to an organisation, by link (its token: only the SHA-256
    is stored) or for one named user."""

    __tablename__ = "invitations"

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    username: Mapped[str | None] = mapped_column(String(150))  # None: anyone holding the link
    created_by_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Model):
    """Who changed what in a space, when, with which credential. The actor's
    username is copied: the entry outlives the user."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_space_pk_pk", "space_pk", "pk"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(150))  # the username then; None: the CLI or the hub
    credential: Mapped[str | None] = mapped_column(String(80))  # "api_key:key_..." | "oauth:..." | "web" | "cli"
    action: Mapped[str] = mapped_column(String(60))  # e.g. "member.added", "worker_token.revoked"
    target: Mapped[str | None] = mapped_column(String(255))  # what it was done to (an id or a username)
    detail: Mapped[dict | None] = mapped_column(JSON)


class ShareLink(Model):
    """A read-only link to one task for people outside its space: unguessable
    (only the token's SHA-256 is stored), revocable, expiring."""

    __tablename__ = "share_links"

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    task_pk: Mapped[int] = mapped_column(ForeignKey("tasks.pk", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
