"""Users and API keys."""
from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from hub.auth import SCOPES, Principal
from hub.db import begin_write, db, new_id, utcnow
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.models import ApiKey, Codebase, User
from hub.models.accounts import TIERS
from hub.models.codebases import GLOBAL_CODEBASE_ID

API_KEY_PREFIX = "ct_"


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (keys, tokens, codes): enough to make
    a leaked table useless, and indexable for lookup."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_user(username: str, *, password: str | None = None, email: str | None = None,
                name: str | None = None, tier: str = "free", is_admin: bool = False,
                oidc_sub: str | None = None) -> User:
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise ValidationFailed("username", "Give 1 to 150 characters.")
    _check_tier(tier)
    begin_write()
    if db.session.scalar(select(User.pk).where(User.username == username)):
        db.session.rollback()
        raise Conflict(f"A user named '{username}' already exists.", code="user_exists")
    user = User(username=username, email=email, name=name, tier=tier, is_admin=is_admin, oidc_sub=oidc_sub,
                password_hash=generate_password_hash(password) if password else None)
    db.session.add(user)
    db.session.flush()
    db.session.add(Codebase(id=GLOBAL_CODEBASE_ID, user_pk=user.pk, name="Global",
                            description="Used when a task names no codebase."))
    db.session.commit()
    return user


def get_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named '{username}'.")
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.pk)))


def set_tier(username: str, tier: str) -> User:
    _check_tier(tier)
    begin_write()
    user = get_user(username)
    user.tier = tier
    db.session.commit()
    return user


def end_sessions(user: User) -> None:
    """End every web session of ``user`` (sign-out, password change, disable):
    a session cookie carries the generation it was signed in under."""
    begin_write()
    user.session_generation = (user.session_generation or 0) + 1
    db.session.commit()


def check_password(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.password_hash:
        # Same work either way, so timing does not reveal which usernames exist.
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


_DUMMY_HASH = generate_password_hash("not-a-password")


def _check_tier(tier: str) -> None:
    if tier not in TIERS:
        raise ValidationFailed("tier", f"Must be one of: {', '.join(TIERS)}.")


def parse_scopes(scopes) -> list[str]:
    if scopes is None:
        return list(SCOPES)
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValidationFailed("scopes", f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(SCOPES)}.")
    return list(dict.fromkeys(scopes))


def create_api_key(username: str, *, name: str | None = None, scopes=None) -> tuple[ApiKey, str]:
    """Create a key; the plain key is returned once and never stored."""
    scope_list = parse_scopes(scopes)
    user = get_user(username)
    plain = new_id(API_KEY_PREFIX, 40)
    begin_write()
    key = ApiKey(id=new_id("key_", 16), user_pk=user.pk, name=name, prefix=plain[:10],
                 key_hash=hash_secret(plain), scopes=" ".join(scope_list))
    db.session.add(key)
    db.session.commit()
    return key, plain


def revoke_api_key(key_id: str, user: User | None = None) -> ApiKey:
    begin_write()
    query = select(ApiKey).where(ApiKey.id == key_id)
    if user is not None:
        query = query.where(ApiKey.user_pk == user.pk)
    key = db.session.scalar(query)
    if key is None:
        db.session.rollback()
        raise NotFound(f"No API key '{key_id}'.")
    key.revoked_at = key.revoked_at or utcnow()
    db.session.commit()
    return key


def list_api_keys(user: User) -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).where(ApiKey.user_pk == user.pk).order_by(ApiKey.pk.desc())))


# Built once: every API request runs it, and building a statement costs
# about as much as SQLite takes to answer it.
_KEY_BY_HASH = select(ApiKey).where(ApiKey.key_hash == bindparam("key_hash"))


def principal_for_api_key(plain: str) -> Principal | None:
    digest = hash_secret(plain)
    key = db.session.scalar(_KEY_BY_HASH, {"key_hash": digest})
    if key is None or key.revoked_at is not None:
        return None
    # The lookup is by hash; compare again in constant time for good measure.
    if not hmac.compare_digest(key.key_hash, digest):
        return None
    return Principal(user=key.user, scopes=frozenset(key.scopes.split()), via="api_key", credential_id=key.id)
