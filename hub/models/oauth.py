"""OAuth2: registered clients, authorization codes, tokens, consent grants.

Secrets, codes and tokens are stored only as SHA-256 hashes and looked up
by hash. The methods here are the small read-only interface authlib asks of
its models; the rules that change rows live in ``hub.services.oauth``.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.crypto import hash_secret
from hub.db import Model, utcnow
from hub.models.accounts import User
from hub.models.spaces import Space

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _any_loopback_port(uri: str) -> str:
    """``uri`` without its port when it is an http loopback URI (and nothing else in its authority)."""
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or "@" in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=f"[{parts.hostname}]" if parts.hostname == "::1" else parts.hostname))


class OAuthClient(Model):
    __tablename__ = "oauth_clients"

    pk: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # None for a public client (a native or browser app that cannot keep a secret).
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    redirect_uris: Mapped[str] = mapped_column(Text)  # one per line, matched exactly
    scopes: Mapped[str] = mapped_column(String(255))
    # S256 PKCE for every client (RFC 9700 §2.1.1); False only for a client
    # registered with --no-pkce (or before PKCE became the default).
    require_pkce: Mapped[bool] = mapped_column(default=True)
    # Registered by the app itself (RFC 7591, POST /oauth/register), not by an
    # admin: its name is unverified, and the consent page says so.
    dynamic: Mapped[bool] = mapped_column(default=False, server_default=false())
    registered_ip: Mapped[str | None] = mapped_column(String(64))  # who registered it (dynamic only)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]  # its last token issued
    revoked_at: Mapped[datetime | None]

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None

    @property
    def pkce_required(self) -> bool:
        return self.is_public or self.require_pkce

    @property
    def redirect_uri_list(self) -> list[str]:
        return self.redirect_uris.split()

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    # -- authlib ClientMixin --
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        uris = self.redirect_uri_list
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope):
        if not scope:
            return self.scopes
        allowed = set(self.scope_list)
        return " ".join(s for s in dict.fromkeys(scope.split()) if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        # Exact string match (RFC 9700 §4.1.3): no prefix, case or trailing-slash
        # leniency, but for the port of a loopback redirect (RFC 8252 §7.3): a
        # native app (an MCP client) listens on whichever port is free.
        asked = _any_loopback_port(redirect_uri)
        return any(hmac.compare_digest(asked, _any_loopback_port(uri)) for uri in self.redirect_uri_list)

    def check_client_secret(self, client_secret):
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(self.secret_hash, hash_secret(client_secret))

    def check_endpoint_auth_method(self, method, endpoint):
        if method == "none":
            # Public clients may use the token endpoint without a secret;
            # revocation and introspection always need client credentials.
            return self.is_public and endpoint == "token"
        return not self.is_public and method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


class OAuthCode(Model):
    __tablename__ = "oauth_codes"

    pk: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.pk", ondelete="CASCADE"), index=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))  # the space it acts in
    redirect_uri: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    resource: Mapped[str | None] = mapped_column(String(255))  # RFC 8707: None, any of the hub's resources
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")

    # -- authlib AuthorizationCodeMixin --
    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


class OAuthToken(Model):
    """An access token and its refresh token. Rotation makes a new row in
    the same ``family``; reuse of a rotated refresh token revokes the family.
    A refresh token has no expiry of its own: it idles out
    (``hub.services.oauth.idled_out``), counted from ``issued_at``."""

    __tablename__ = "oauth_tokens"

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    family: Mapped[str] = mapped_column(String(40), index=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.pk", ondelete="CASCADE"), index=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))  # the space it acts in
    code_pk: Mapped[int | None] = mapped_column(ForeignKey("oauth_codes.pk", ondelete="SET NULL"), index=True)
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(255))
    # RFC 8707: the one resource (hub.protected_resources) this token is for;
    # None (Zapier's, and every token before resources) is accepted on all.
    resource: Mapped[str | None] = mapped_column(String(255))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    access_expires_at: Mapped[datetime]
    refresh_used_at: Mapped[datetime | None]  # rotated: the refresh token is spent
    revoked_at: Mapped[datetime | None]

    client: Mapped[OAuthClient] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")

    # -- authlib TokenMixin --
    def check_client(self, client):
        return self.client_pk == client.pk

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return max(0, int((self.access_expires_at - self.issued_at).total_seconds()))

    def is_expired(self) -> bool:
        return self.access_expires_at <= utcnow()

    def is_revoked(self):
        return self.revoked_at is not None

    def get_user(self):
        return self.user

    def get_client(self):
        return self.client


class OAuthGrant(Model):
    """A user's consent to a client for some scopes in one space ("connected
    app"): the same app connected to the user's personal space and to an
    organisation is two grants."""

    __tablename__ = "oauth_grants"
    __table_args__ = (UniqueConstraint("user_pk", "client_pk", "space_pk", name="uq_oauth_grants_user_pk_client_pk"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    space_pk: Mapped[int] = mapped_column(ForeignKey("spaces.pk", ondelete="CASCADE"))  # the space it acts in
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.pk", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[OAuthClient] = relationship(lazy="joined")
    space: Mapped[Space] = relationship()  # loaded where grants are listed (``oauth.list_grants``)
    user: Mapped[User] = relationship()  # loaded where a space's grants are listed (``oauth.space_grants``)

    @property
    def client_id(self) -> str:
        return self.client.client_id
