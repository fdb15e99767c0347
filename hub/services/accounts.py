"""Users and API keys."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Iterable
from datetime import timedelta
from functools import lru_cache
from importlib import resources

from sqlalchemy import Select, bindparam, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from hub.auth import SCOPES, Principal
from hub.crypto import hash_secret
from hub.db import begin_write, db, new_id, utcnow
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.models import ApiKey, User
from hub.services import audit, spaces
from hub.tiers import TIERS

API_KEY_PREFIX = "ct_"
USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_PASSWORD_LENGTH = 12


def create_user(
    username: str,
    *,
    password: str | None = None,
    email: str | None = None,
    name: str | None = None,
    tier: str = "free",
    is_admin: bool = False,
    oidc_sub: str | None = None,
) -> User:
    username = check_username(username)
    if password is not None:
        check_new_password(password, username)
    _check_tier(tier)
    begin_write()
    if db.session.scalar(select(User.pk).where(User.username == username)):
        db.session.rollback()
        raise Conflict(f"A user named '{username}' already exists.", code="user_exists")
    space = spaces.new_space("personal", username)
    user = User(
        username=username,
        email=email,
        name=name,
        tier=tier,
        is_admin=is_admin,
        oidc_sub=oidc_sub,
        password_hash=generate_password_hash(password) if password else None,
        personal_space_pk=space.pk,
    )
    db.session.add(user)
    db.session.flush()
    spaces.furnish(space, user)
    db.session.commit()
    return user


def check_username(username: str | None) -> str:
    username = (username or "").strip()
    if not USERNAME.fullmatch(username):
        raise ValidationFailed("username", "Use 1 to 64 characters: letters, digits, '.', '_' or '-'.")
    return username


def check_new_password(password: str, username: str | None = None) -> None:
    """Refuse a password that is quickly guessed: short, or on the list of
    common passwords shipped with the hub, or the username itself."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            "password",
            f"Use at least {MIN_PASSWORD_LENGTH} characters "
            f"(this one has {len(password)}); a few words make a good one.",
        )
    if password.casefold() in _common_passwords() or (username and password.casefold() == username.casefold()):
        raise ValidationFailed(
            "password",
            "This password is among the most common ones (or is the username): "
            "attackers try those first. Choose another.",
        )


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = resources.files("hub").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def get_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named '{username}'.")
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.pk)))


def set_tier(username: str, tier: str, *, actor: User | None = None) -> User:
    """``actor``: the hub admin who changes it (None: the CLI), for the audit
    log of the user's personal space, whose tier this is."""
    _check_tier(tier)
    begin_write()
    user = get_user(username)
    if user.tier != tier:
        audit.record(
            actor,
            "tier.changed",
            space_pk=user.personal_space_pk,
            target=user.username,
            detail={"from": user.tier, "to": tier},
        )
    user.tier = tier
    db.session.commit()
    return user


def end_sessions(user: User) -> None:
    """End every web session of ``user`` (sign-out, password change, disable):
    a session cookie carries the generation it was signed in under."""
    begin_write()
    _end_sessions(user)
    db.session.commit()


def _end_sessions(user: User) -> None:
    user.session_generation = (user.session_generation or 0) + 1


def set_password(username: str, password: str) -> User:
    """A new password, and every web session signed in with the old one ends."""
    check_new_password(password, username)
    begin_write()
    user = get_user(username)
    user.password_hash = generate_password_hash(password)
    _end_sessions(user)  # in the same commit: no moment with the new password and the old sessions
    db.session.commit()
    return user


def set_disabled(username: str, disabled: bool) -> User:
    """A disabled user signs in nowhere: its web sessions end, and its API
    keys and OAuth tokens are refused (``hub.auth.bearer.authenticate``, the token
    endpoint, introspection) until it is enabled again. The change to the
    user is announced to every process's credential cache on commit."""
    begin_write()
    user = get_user(username)
    if disabled and user.disabled_at is None:
        user.disabled_at = utcnow()
        _end_sessions(user)
    elif not disabled:
        user.disabled_at = None
    db.session.commit()
    return user


def check_password(username: str, password: str) -> User | None:
    """The user, if the password is theirs and they are not disabled. Sign-in
    limits (per address and per account) are the route's: hub/web/auth.py."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.password_hash:
        # Same work either way, so timing does not reveal which usernames exist.
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    return user if user.disabled_at is None else None


_DUMMY_HASH = generate_password_hash("not-a-password")


def _check_tier(tier: str) -> None:
    if tier not in TIERS:
        raise ValidationFailed("tier", f"Must be one of: {', '.join(TIERS)}.")


def parse_scopes(scopes: str | Iterable[str] | None) -> list[str]:
    if scopes is None:
        return list(SCOPES)
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValidationFailed("scopes", f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(SCOPES)}.")
    return list(dict.fromkeys(scopes))


def create_api_key(
    username: str,
    *,
    name: str | None = None,
    scopes: str | Iterable[str] | None = None,
    space_pk: int | None = None,
    actor: User | None = None,
) -> tuple[ApiKey, str]:
    """Create a key acting in one space (the user's personal space unless
    another is given: one they are a member of); the plain key is returned
    once and never stored. ``actor``: who creates it, for that space's audit
    log (None: the CLI)."""
    scope_list = parse_scopes(scopes)
    user = get_user(username)
    if space_pk is not None and spaces.standing(user, space_pk) is None:
        raise NotFound("No such space among the user's.")
    plain = new_id(API_KEY_PREFIX, 40)
    begin_write()
    key = ApiKey(
        id=new_id("key_", 16),
        user_pk=user.pk,
        name=name,
        prefix=plain[:10],
        key_hash=hash_secret(plain),
        scopes=" ".join(scope_list),
        space_pk=space_pk or user.personal_space_pk,
    )
    db.session.add(key)
    detail = {"user": user.username, "name": name, "scopes": scope_list}
    audit.record(actor, "api_key.created", space_pk=key.space_pk, target=key.id, detail=detail)
    db.session.commit()
    return key, plain


def revoke_api_key(key: str, user: User | None = None) -> ApiKey:
    """Revoke a key given by its id (``key_…``) or by the key itself (``ct_…``):
    ``user``'s own, or (None: the CLI) anyone's."""
    begin_write()
    if key.startswith(API_KEY_PREFIX):
        query, name = select(ApiKey).where(ApiKey.key_hash == hash_secret(key)), "matching the key given"
    else:
        query, name = select(ApiKey).where(ApiKey.id == key), f"'{key}'"  # never echo a secret
    if user is not None:
        query = query.where(ApiKey.user_pk == user.pk)
    return _revoke_key(query, name, user)


def revoke_space_api_key(admin: User, key_id: str) -> ApiKey:
    """An admin revokes any member's key acting in the space the admin acts
    in (another space's: NotFound)."""
    spaces.require_role(admin, "manage")
    begin_write()
    query = select(ApiKey).where(ApiKey.id == key_id, ApiKey.space_pk == admin.space_pk)
    return _revoke_key(query, f"'{key_id}'", admin)


def _revoke_key(query: Select[ApiKey], name: str, actor: User | None) -> ApiKey:
    """Revoke the key ``query`` finds, in the write transaction begun, with its audit entry."""
    row = db.session.scalar(query)
    if row is None:
        db.session.rollback()
        raise NotFound(f"No API key {name}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(actor, "api_key.revoked", space_pk=row.space_pk, target=row.id, detail={"user": row.user.username})
    db.session.commit()
    return row


def list_api_keys(user: User | None = None) -> list[ApiKey]:
    """A user's keys, or everyone's; newest first."""
    query = select(ApiKey).order_by(ApiKey.pk.desc())
    if user is not None:
        query = query.where(ApiKey.user_pk == user.pk)
    return list(db.session.scalars(query))


def space_api_keys(admin: User) -> list[ApiKey]:
    """The live keys acting in the space ``admin`` acts in, every member's
    (its admins and owners only); newest first."""
    spaces.require_role(admin, "manage")
    query = select(ApiKey).where(ApiKey.space_pk == admin.space_pk, ApiKey.revoked_at.is_(None))
    return list(db.session.scalars(query.order_by(ApiKey.pk.desc())))


KEY_USE_EVERY = 60.0  # seconds
_key_uses: dict[str, float] = {}  # key id -> time.monotonic() of this process's last write


def record_key_use(key_id: str) -> None:
    """Set ``last_used_at`` of a key that just authenticated, at most once a
    minute per key and process: it is for people (dashboard, ``api-keys
    list``), not an audit log, and a write on every request would cost more
    than the request. Its own short transaction, not the request's, and a
    Core statement: the ORM's would be announced as a credential change and
    empty every process's credential cache, though no one's access changed."""
    now = time.monotonic()
    if now - _key_uses.get(key_id, float("-inf")) < KEY_USE_EVERY:
        return
    if len(_key_uses) >= 10_000:  # a bound on memory
        _key_uses.clear()
    _key_uses[key_id] = now
    stamp, table = utcnow(), ApiKey.__table__
    with db.engine.connect().execution_options(hub_write=True) as connection, connection.begin():
        connection.execute(
            update(table)
            .where(
                table.c.id == key_id,
                or_(table.c.last_used_at.is_(None), table.c.last_used_at < stamp - timedelta(seconds=KEY_USE_EVERY)),
            )
            .values(last_used_at=stamp)
        )


# Built once: every API request runs it, and building a statement costs as
# much as running it (bench/README.md, Profiling).
_KEY_BY_HASH = select(ApiKey).where(ApiKey.key_hash == bindparam("key_hash"))


def principal_for_api_key(plain: str) -> Principal | None:
    digest = hash_secret(plain)
    key = db.session.scalar(_KEY_BY_HASH, {"key_hash": digest})
    if key is None or key.revoked_at is not None or key.user.disabled_at is not None:
        return None
    # The lookup is by hash; compare again in constant time for good measure.
    if not hmac.compare_digest(key.key_hash, digest):
        return None
    standing = spaces.standing(key.user, key.space_pk)
    if standing is None:  # no longer a member of the key's space
        return None
    return Principal(
        user=key.user,
        scopes=frozenset(key.scopes.split()),
        via="api_key",
        credential_id=key.id,
        space_pk=key.space_pk,
        role=standing.role,
        space_tier=standing.tier,
    )
