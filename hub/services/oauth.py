"""OAuth2 rules: clients, single-use codes, rotating refresh tokens, consent.

A refresh token has no fixed lifetime: it stops working once its connection
went unused for HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS (``idled_out``).

The token endpoint runs in one write transaction (``hub.oauth.routes``):
claiming a code or a refresh token is a conditional UPDATE, so of two
concurrent redemptions exactly one wins; the loser is treated as a replay
and revokes what the code (or the token family) issued.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import ColumnElement, bindparam, func, or_, select, update
from sqlalchemy.orm import joinedload

from hub.auth import SCOPES, Principal
from hub.crypto import hash_secret
from hub.db import begin_write, db, new_id, rows_changed, utcnow
from hub.errors import NotFound, ValidationFailed
from hub.models import OAuthClient, OAuthCode, OAuthGrant, OAuthToken, Space, Subscription, User
from hub.models.oauth import LOOPBACK_HOSTS
from hub.services import audit, hooks, orgs, spaces
from hub.services.accounts import parse_scopes

ACCESS_PREFIX = "cto_"
REFRESH_PREFIX = "ctr_"
SECRET_PREFIX = "cts_"


# -- clients --------------------------------------------------------------


def check_redirect_uri(uri: str, *, field: str = "redirect_uri", native: bool = False) -> str:
    """https, or http on loopback (RFC 8252 §7.3); ``native``: also an app's
    private-use scheme, reverse-domain like ``com.example.app:/cb`` (§7.1)."""
    parts = urlsplit(uri)
    if native and "." in parts.scheme and parts.scheme not in ("http", "https"):
        if parts.fragment or parts.netloc:
            raise ValidationFailed(field, f"{uri!r}: a private-use URI has no host or fragment (com.example.app:/cb).")
        return uri
    loopback = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if parts.scheme != "https" and not loopback:
        raise ValidationFailed(field, f"{uri!r}: use https (http only on 127.0.0.1 or localhost).")
    if not parts.hostname or parts.fragment or parts.username or parts.password:
        raise ValidationFailed(field, f"{uri!r}: give an absolute URL without fragment or user info.")
    return uri


def create_client(
    name: str,
    redirect_uris: list[str],
    *,
    scopes: str | Iterable[str] | None = None,
    pkce: bool = True,
    public: bool = False,
) -> tuple[OAuthClient, str | None]:
    """Register a client; its secret (None for a public client) is returned once.

    Every client must use S256 PKCE (RFC 9700 §2.1.1) unless ``pkce=False``,
    the explicit opt-out for a confidential client that cannot send it."""
    if public and not pkce:
        raise ValidationFailed("pkce", "A public client has no secret: it must use PKCE.")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("name", "Give 1 to 200 characters.")
    if not redirect_uris:
        raise ValidationFailed("redirect_uri", "Give at least one redirect URI.")
    uris = [check_redirect_uri(u) for u in redirect_uris]
    scope_list = parse_scopes(scopes)
    secret = None if public else new_id(SECRET_PREFIX, 48)
    begin_write()
    client = OAuthClient(
        client_id=new_id("cli_", 22),
        name=name,
        redirect_uris="\n".join(uris),
        scopes=" ".join(scope_list),
        require_pkce=pkce,
        secret_hash=hash_secret(secret) if secret else None,
    )
    db.session.add(client)
    db.session.commit()
    return client, secret


AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
# Anyone may register: bounds on what a stranger stores (and the admin page shows).
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
GRANT_TYPES = ("authorization_code", "refresh_token")


def register_client(metadata: Any, *, ip: str) -> tuple[OAuthClient, str | None, dict[str, Any]]:
    """RFC 7591 dynamic registration, open to anyone (an MCP client registers
    itself): the client, its secret (None for a public one, the default of
    MCP clients) and the registration response. Every such client must use
    S256 PKCE, secret or not; its name is its own claim (``dynamic``)."""
    if not isinstance(metadata, dict):
        raise ValidationFailed("body", "Send the client metadata as a JSON object.")
    uris = metadata.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise ValidationFailed("redirect_uris", "Give a list of one or more redirect URIs.")
    if len(uris) > MAX_REDIRECT_URIS or any(len(u) > MAX_URI_LENGTH for u in uris):
        raise ValidationFailed("redirect_uris", f"At most {MAX_REDIRECT_URIS}, of {MAX_URI_LENGTH} characters each.")
    uris = [check_redirect_uri(u, field="redirect_uris", native=True) for u in uris]
    method = metadata.get("token_endpoint_auth_method", "client_secret_basic")  # RFC 7591 §2's default
    if method not in AUTH_METHODS:
        raise ValidationFailed("token_endpoint_auth_method", f"Use one of {', '.join(AUTH_METHODS)}.")
    grant_types = metadata.get("grant_types", ["authorization_code"])
    if not isinstance(grant_types, list) or not set(grant_types) <= set(GRANT_TYPES):
        raise ValidationFailed("grant_types", f"Use only {', '.join(GRANT_TYPES)}.")
    if metadata.get("response_types", ["code"]) != ["code"]:
        raise ValidationFailed("response_types", "Only ['code'] (the authorization code flow).")
    scope = metadata.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise ValidationFailed("scope", "Give scopes as one space-separated string.")
    try:
        scopes = parse_scopes(scope)
    except ValidationFailed as error:
        raise ValidationFailed("scope", error.message.removeprefix("scopes: ")) from None
    name = metadata.get("client_name", "Unnamed app")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
        raise ValidationFailed("client_name", "Give 1 to 200 characters.")
    public = method == "none"
    secret = None if public else new_id(SECRET_PREFIX, 48)
    begin_write()
    client = OAuthClient(
        client_id=new_id("cli_", 22),
        name=name.strip(),
        redirect_uris="\n".join(uris),
        scopes=" ".join(scopes),
        require_pkce=True,
        secret_hash=hash_secret(secret) if secret else None,
        dynamic=True,
        registered_ip=ip,
    )
    db.session.add(client)
    db.session.commit()
    response = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.replace(tzinfo=UTC).timestamp()),
        "client_name": client.name,
        "redirect_uris": uris,
        "grant_types": grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
        "scope": client.scopes,
    }
    if secret:
        response |= {"client_secret": secret, "client_secret_expires_at": 0}
    return client, secret, response


def list_clients() -> list[OAuthClient]:
    return list(db.session.scalars(select(OAuthClient).order_by(OAuthClient.pk)))


def find_client(client_id: str | None) -> OAuthClient | None:
    """An active client by its public id (authlib's ``query_client``)."""
    if not client_id:
        return None
    client = db.session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    return client if client is not None and client.revoked_at is None else None


def revoke_client(client_id: str, *, actor: User | None = None) -> OAuthClient:
    """A hub admin's (``actor``; None: the CLI): the app is disconnected in
    every space it was connected to, and each space's log says so."""
    begin_write()
    client = db.session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None:
        db.session.rollback()
        raise NotFound(f"No OAuth client '{client_id}'.")
    now = utcnow()
    if client.revoked_at is None:
        connected = select(OAuthGrant.space_pk).where(OAuthGrant.client_pk == client.pk).distinct()
        for space_pk in db.session.scalars(connected):
            detail = {"app": client.name, "client_revoked": True}
            audit.record(actor, "app.disconnected", space_pk=space_pk, target=client_id, detail=detail)
    client.revoked_at = client.revoked_at or now
    db.session.execute(
        update(OAuthToken)
        .where(OAuthToken.client_pk == client.pk, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    hooks.end_app_subscriptions(client.pk)
    db.session.commit()
    return client


# -- authorization codes --------------------------------------------------


def save_code(
    plain: str,
    *,
    client: OAuthClient,
    user: User,
    redirect_uri: str | None,
    scope: str,
    code_challenge: str | None,
    code_challenge_method: str | None,
    resource: str | None = None,
) -> OAuthCode:
    begin_write()
    code = OAuthCode(
        code_hash=hash_secret(plain),
        client_pk=client.pk,
        user_pk=user.pk,
        space_pk=user.space_pk,  # the space chosen at consent
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method if code_challenge else None,
        resource=resource,
        expires_at=utcnow() + timedelta(seconds=current_app.config["HUB_OAUTH_CODE_TTL"]),
    )
    db.session.add(code)
    db.session.commit()
    return code


def claim_code(plain: str, client: OAuthClient) -> OAuthCode | None:
    """Mark a code used, inside the token request's write transaction.

    A code seen before (used, or claimed by a concurrent request that won)
    is a replay: the tokens it issued are revoked and committed at once."""
    code = db.session.scalar(
        select(OAuthCode).where(OAuthCode.code_hash == hash_secret(plain), OAuthCode.client_pk == client.pk)
    )
    if code is None:
        return None
    now = utcnow()
    if code.used_at is None and (code.expires_at <= now or code.user.disabled_at is not None):
        return None
    claimed = rows_changed(
        update(OAuthCode).where(OAuthCode.pk == code.pk, OAuthCode.used_at.is_(None)).values(used_at=now)
    )
    if claimed != 1:
        _revoke(OAuthToken.code_pk == code.pk)
        db.session.commit()
        current_app.logger.warning("OAuth code replayed for client %s; revoked its tokens", client.client_id)
        return None
    return code


# -- resource indicators (RFC 8707) --------------------------------------


def target_resource(requested: list[str], granted: str | None, known: Iterable[str]) -> str | None:
    """The one resource a code or token is for: the one ``requested`` (of the
    ``known`` ones), else what the code or refresh token was ``granted`` for.
    A grant for one resource is never widened to another; one without may be
    narrowed to any. ValidationFailed("resource") is the client's invalid_target."""
    if len(requested) > 1:
        raise ValidationFailed("resource", "Name one resource per request.")
    if not requested:
        return granted
    wanted = requested[0].removesuffix("/")  # http://hub/ is http://hub; clients differ on the last slash
    if wanted not in known:
        raise ValidationFailed("resource", f"{wanted!r} is not a resource of this hub.")
    if granted is not None and wanted != granted:
        raise ValidationFailed("resource", f"This grant is for {granted}, not {wanted}.")
    return wanted


# -- tokens ---------------------------------------------------------------


def new_access_token(**_: object) -> str:
    return ACCESS_PREFIX + secrets.token_urlsafe(32)


def new_refresh_token(**_: object) -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def save_token(
    token: dict[str, Any],
    *,
    client: OAuthClient,
    user: User,
    code: OAuthCode | None = None,
    rotated_from: OAuthToken | None = None,
    resource: str | None = None,
) -> OAuthToken:
    """Store a freshly issued token (hashes only); the caller commits."""
    now = utcnow()
    client.last_used_at = now
    row = OAuthToken(
        id=new_id("tok_", 16),
        family=rotated_from.family if rotated_from else new_id("fam_", 16),
        client_pk=client.pk,
        user_pk=user.pk,
        space_pk=code.space_pk if code else rotated_from.space_pk if rotated_from else user.space_pk,
        code_pk=code.pk if code else None,
        access_hash=hash_secret(token["access_token"]),
        refresh_hash=hash_secret(token["refresh_token"]) if token.get("refresh_token") else None,
        scope=token.get("scope", ""),
        resource=resource,
        issued_at=now,
        access_expires_at=now + timedelta(seconds=int(token.get("expires_in") or 0)),
    )
    db.session.add(row)
    return row


def claim_refresh_token(plain: str, client: OAuthClient) -> OAuthToken | None:
    """Spend a refresh token (rotation). Reuse of a spent one revokes its
    whole family (RFC 9700 §4.14.2) and is committed at once."""
    row = db.session.scalar(select(OAuthToken).where(OAuthToken.refresh_hash == hash_secret(plain)))
    if row is None or row.client_pk != client.pk or row.revoked_at is not None or row.user.disabled_at is not None:
        return None
    now = utcnow()
    if row.refresh_used_at is None and idled_out(row, now):
        return None
    spent = rows_changed(
        update(OAuthToken)
        .where(OAuthToken.pk == row.pk, OAuthToken.refresh_used_at.is_(None), OAuthToken.revoked_at.is_(None))
        .values(refresh_used_at=now)
    )
    if spent != 1:
        _revoke(OAuthToken.family == row.family)
        db.session.commit()
        current_app.logger.warning("OAuth refresh token reused for client %s; revoked its family", client.client_id)
        return None
    return row


def idled_out(token: OAuthToken, now: datetime) -> bool:
    """Whether the connection went unused for the idle lifetime, so ``token``
    no longer refreshes. Use is a token request (connecting, or a refresh,
    which issues a new refresh token: its issue is the last one) or a webhook
    subscription the app made for the user, until it ends: Zapier calls the
    hub for a Zap with an instant trigger only when it is edited or turned
    off, and refreshes only when an access token is refused."""
    since = now - timedelta(seconds=current_app.config["HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS"])
    if token.issued_at > since:
        return False
    ended = func.coalesce(Subscription.disabled_at, Subscription.deleted_at)
    hook_in_use = select(Subscription.pk).where(
        Subscription.user_pk == token.user_pk,
        Subscription.oauth_client_pk == token.client_pk,
        or_(ended.is_(None), ended > since),
    )
    return db.session.scalar(hook_in_use.limit(1)) is None


def find_token(plain: str, hint: str | None = None) -> OAuthToken | None:
    digest = hash_secret(plain)
    by_access = OAuthToken.access_hash == digest
    by_refresh = OAuthToken.refresh_hash == digest
    where = (
        by_access if hint == "access_token" else by_refresh if hint == "refresh_token" else or_(by_access, by_refresh)
    )
    # A hint is only a hint (RFC 7009 §2.1): fall back to both kinds.
    return db.session.scalar(select(OAuthToken).where(where)) or (
        db.session.scalar(select(OAuthToken).where(or_(by_access, by_refresh))) if hint else None
    )


def revoke_family(token: OAuthToken) -> None:
    """Revoke a token and everything rotated from the same grant (RFC 7009 §2.1)."""
    begin_write()
    _revoke(OAuthToken.family == token.family)
    db.session.commit()


def _revoke(condition: ColumnElement[bool]) -> None:
    db.session.execute(update(OAuthToken).where(condition, OAuthToken.revoked_at.is_(None)).values(revoked_at=utcnow()))


_TOKEN_BY_HASH = select(OAuthToken).where(OAuthToken.access_hash == bindparam("access_hash"))  # built once


def principal_for_access_token(plain: str) -> Principal | None:
    if not plain.startswith(ACCESS_PREFIX):
        return None
    row = db.session.scalar(_TOKEN_BY_HASH, {"access_hash": hash_secret(plain)})
    if row is None or row.revoked_at is not None or row.is_expired() or row.client.revoked_at is not None:
        return None
    standing = spaces.standing(row.user, row.space_pk)
    if standing is None:  # no longer a member of the space the app was connected to
        return None
    return Principal(
        user=row.user,
        scopes=frozenset(row.scope.split()),
        via="oauth",
        credential_id=row.id,
        expires_at=row.access_expires_at,
        oauth_client_pk=row.client_pk,
        audience=row.resource,
        space_pk=row.space_pk,
        role=standing.role,
        space_tier=standing.tier,
    )


def introspect(token: OAuthToken) -> dict[str, Any]:
    if token.user.disabled_at is not None:
        return {"active": False}
    return {
        "active": True,
        "client_id": token.client.client_id,
        "username": token.user.username,
        "sub": token.user.username,
        "scope": token.scope,
        "token_type": "Bearer",
        "exp": int(token.access_expires_at.timestamp()),
        "iat": int(token.issued_at.timestamp()),
        "iss": current_app.config["HUB_BASE_URL"],
    } | ({"aud": token.resource} if token.resource else {})


# -- consent ("connected apps") -------------------------------------------


def has_consent(user: User, client: OAuthClient, scope: str) -> bool:
    grant = db.session.scalar(
        select(OAuthGrant).where(
            OAuthGrant.user_pk == user.pk, OAuthGrant.client_pk == client.pk, OAuthGrant.space_pk == user.space_pk
        )
    )
    return grant is not None and set(scope.split()) <= set(grant.scope.split())


def remember_consent(user: User, client: OAuthClient, scope: str) -> OAuthGrant:
    begin_write()
    grant = db.session.scalar(
        select(OAuthGrant).where(
            OAuthGrant.user_pk == user.pk, OAuthGrant.client_pk == client.pk, OAuthGrant.space_pk == user.space_pk
        )
    )
    before = grant.scope if grant else None
    if grant is None:
        grant = OAuthGrant(user_pk=user.pk, client_pk=client.pk, space_pk=user.space_pk, scope=scope)
        db.session.add(grant)
    else:
        grant.scope = " ".join(dict.fromkeys(grant.scope.split() + scope.split()))
        grant.updated_at = utcnow()
    if grant.scope != before:  # connected, or allowed more: the space's admins see what an app may do there
        detail = {"app": client.name, "scopes": grant.scope.split()}
        audit.record(user, "app.connected", space_pk=grant.space_pk, target=client.client_id, detail=detail)
    db.session.commit()
    return grant


def consent_spaces(user: User) -> list[tuple[Space, str]]:
    """Where the user may connect an app (space, role): their personal space
    first, then each organisation where their role lets them work (a
    viewer's app could not create the tasks it is connected for)."""
    return [(space, role) for space, role in orgs.spaces_of(user) if spaces.allows(role, "work")]


def act_in_chosen_space(user: User, space_id: str | None) -> Space:
    """Make ``user`` act in the space chosen on the consent page (its id;
    None: the personal space), so that the consent and the code issued next
    are that space's (``save_code`` takes ``user.space_pk``).
    ValidationFailed("space") when it is not one of ``consent_spaces``."""
    choices = consent_spaces(user)
    space = next((s for s, _role in choices if (s.personal if space_id is None else s.id == space_id)), None)
    found = spaces.standing(user, space.pk) if space is not None else None
    if space is None or found is None:
        raise ValidationFailed("space", "Choose one of your spaces where you may work: the app acts there.")
    spaces.act_in(user, space.pk, found)
    return space


def list_grants(user: User) -> list[OAuthGrant]:
    """The user's connected apps in every space, each with its ``space``."""
    return list(
        db.session.scalars(
            select(OAuthGrant)
            .options(joinedload(OAuthGrant.space))
            .where(OAuthGrant.user_pk == user.pk)
            .order_by(OAuthGrant.updated_at.desc(), OAuthGrant.pk.desc())
        )
    )


def revoke_grant(user: User, client_id: str, *, space_pk: int | None = None, actor: User | None = None) -> OAuthGrant:
    """Disconnect an app in one space (``space_pk``; None: in every space it
    is connected to): forget the consent, revoke its tokens for this user
    there and delete the hooks they subscribed there. ``actor``: a space's
    admin disconnecting a member's app (default: the user themselves)."""
    begin_write()
    query = (
        select(OAuthGrant).join(OAuthClient).where(OAuthGrant.user_pk == user.pk, OAuthClient.client_id == client_id)
    )
    grants = list(db.session.scalars(query if space_pk is None else query.where(OAuthGrant.space_pk == space_pk)))
    if not grants:
        db.session.rollback()
        raise NotFound(f"No connected app '{client_id}'.")
    for grant in grants:
        tokens = (OAuthToken.user_pk == user.pk) & (OAuthToken.client_pk == grant.client_pk)
        _revoke(tokens & (OAuthToken.space_pk == grant.space_pk))
        hooks.end_app_subscriptions(grant.client_pk, user, space_pk=grant.space_pk)
        detail = {"app": grant.client.name} | ({"user": user.username} if actor is not None else {})
        audit.record(actor or user, "app.disconnected", space_pk=grant.space_pk, target=client_id, detail=detail)
        db.session.delete(grant)
    db.session.commit()
    return grants[0]


def space_grants(admin: User) -> list[OAuthGrant]:
    """The connected apps of the space ``admin`` acts in, every member's
    (its admins and owners only), each with its ``user``; newest first."""
    spaces.require_role(admin, "manage")
    return list(
        db.session.scalars(
            select(OAuthGrant)
            .options(joinedload(OAuthGrant.user))
            .where(OAuthGrant.space_pk == admin.space_pk)
            .order_by(OAuthGrant.updated_at.desc(), OAuthGrant.pk.desc())
        )
    )


def disconnect_member_app(admin: User, client_id: str, username: str) -> OAuthGrant:
    """An admin disconnects a member's app in the space the admin acts in:
    that member's grant, tokens and app hooks there, never elsewhere (their
    personal connection of the same app keeps working). NotFound: no such
    app of that user in this space."""
    spaces.require_role(admin, "manage")
    member = db.session.scalar(select(User).where(User.username == username))
    if member is None:
        raise NotFound(f"No connected app '{client_id}' of '{username}' here.")
    return revoke_grant(member, client_id, space_pk=admin.space_pk, actor=admin)


def scope_descriptions(scope: str) -> list[tuple[str, str]]:
    return [(s, SCOPES.get(s, s)) for s in scope.split()]
