"""Idempotency keys: reserve a key before a create runs, keep its first
response, replay it on a retry (Stripe's and the IETF draft's rules).

The kept response is encrypted (Fernet, key derived from SECRET_KEY:
``hub.crypto``): a create's answer may hold a secret shown only once (a
hook's signing secret).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hub.crypto import IDEMPOTENT_RESPONSES, fernet
from hub.db import begin_write, db, utcnow
from hub.errors import Conflict, ValidationFailed
from hub.models import IdempotencyKey, User


def digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _key_hash(user: User, key: str) -> str:
    """A key is the space's it was used in (the user's per space, kept by
    ``user_pk``): one person's retry through an org's credential must not be
    answered what their personal credential made with the same key."""
    return digest(f"{user.space_pk}:{key}")


def replay_body(record: IdempotencyKey) -> bytes:
    assert record.response_body is not None  # a finished record: complete() stored it with the status
    try:
        return fernet(IDEMPOTENT_RESPONSES, current_app.config["SECRET_KEY"]).decrypt(record.response_body)
    except InvalidToken:  # SECRET_KEY changed since: the answer cannot be replayed
        raise Conflict(
            "The first response to this Idempotency-Key can no longer be replayed; "
            "check whether it was created, then use a new key.",
            code="idempotency_key_unreplayable",
        ) from None


def reserve(user: User, key: str, request_hash: str) -> IdempotencyKey | None:
    """Reserve ``key`` for this request in its own transaction, so that a
    concurrent duplicate sees it. Returns None when the caller should run the
    request, or the finished record to replay."""
    key_hash = _key_hash(user, key)
    for _ in range(2):
        begin_write()
        cutoff = utcnow() - timedelta(hours=current_app.config["HUB_IDEMPOTENCY_KEY_HOURS"])
        db.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff),
            execution_options={"synchronize_session": False},
        )
        record = db.session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.user_pk == user.pk, IdempotencyKey.key_hash == key_hash)
        )
        if record is None:
            db.session.add(
                IdempotencyKey(user_pk=user.pk, key_hash=key_hash, request_hash=request_hash, created_at=utcnow())
            )
            try:
                db.session.commit()
            except IntegrityError:  # PostgreSQL: a concurrent duplicate inserted first
                db.session.rollback()
                continue
            return None
        if record.response_status is None and record.created_at < utcnow() - timedelta(
            seconds=current_app.config["HUB_WEB_TIMEOUT"]
        ):
            # Reserved by a request that cannot still be running (gunicorn
            # ends one after HUB_WEB_TIMEOUT): it died, or the database
            # failed under it before it could free the key. Take it over
            # rather than answer 409 until the key expires.
            record.request_hash, record.created_at = request_hash, utcnow()
            db.session.commit()
            return None
        db.session.commit()
        if record.request_hash != request_hash:
            error = ValidationFailed(
                "Idempotency-Key",
                "This key was already used with a different request; use a new key for a new request.",
            )
            error.code = "idempotency_key_reused"
            raise error
        if record.response_status is None:
            break
        return record
    raise Conflict(
        "A request with this Idempotency-Key is still in progress; retry shortly.", code="idempotency_in_flight"
    )


def complete(user: User, key: str, status: int, body: bytes, content_type: str | None) -> None:
    """Keep the first response for replays."""
    begin_write()
    record = _find(user, key)
    if record is not None:
        record.response_status, record.response_type = status, content_type
        record.response_body = fernet(IDEMPOTENT_RESPONSES, current_app.config["SECRET_KEY"]).encrypt(body)
    db.session.commit()


def release(user: User, key: str) -> None:
    """The request failed before it changed anything: free the key so that a
    corrected retry can run."""
    db.session.rollback()
    begin_write()
    record = _find(user, key)
    if record is not None and record.response_status is None:
        db.session.delete(record)
    db.session.commit()


def _find(user: User, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_pk == user.pk, IdempotencyKey.key_hash == _key_hash(user, key))
    )
