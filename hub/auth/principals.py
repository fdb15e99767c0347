"""Each process remembers who recent API keys and OAuth access tokens belong
to, so most requests skip the credential query (bench/README.md, Profiling).

A revoked credential must stop working at once in every process. Any commit
that changes a user, a membership, an API key, an OAuth token or an OAuth client (through
the ORM, row by row or in bulk) publishes on a Redis channel, in the same
round trip as the commit's other messages (``hub.after_commit``), and
empties its own process's cache. Each process reads that channel, without
waiting, before every look-up, so a change is seen by the next request
anywhere. While a process is not subscribed (Redis down, or just back) it
remembers nothing. A change made outside the hub, in SQL, applies within
HUB_CREDENTIAL_CACHE_SECONDS.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass, replace

import redis
from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.retry import Retry
from sqlalchemy import event as sa_event
from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached

from hub.auth import Principal
from hub.db import db, utcnow
from hub.models import ApiKey, Membership, OAuthClient, OAuthToken, Space, User

log = logging.getLogger(__name__)

CHANNEL = "hub:credentials:changed"
WATCHED = (User, ApiKey, OAuthToken, OAuthClient, Membership, Space)  # a role and a tier are part of a principal
RESUBSCRIBE_SECONDS = 1.0
MAX_ENTRIES = 5000  # a bound on memory: past it, start again
_FLAG = "hub_credentials_changed"


@dataclass(frozen=True)
class _Entry:
    principal: Principal  # its ``user`` detached: merged into each request's session
    until: float  # time.monotonic()


class PrincipalCache:
    def __init__(self, redis_url: str, max_age: float):
        self._redis_url = redis_url
        self._max_age = max_age
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._pubsub: PubSub | None = None
        self._pid = 0  # the subscribing process: a forked child must not read its parent's socket
        self._retry_at = 0.0
        self._generation = 0

    def lookup(self, digest: str) -> tuple[Principal | None, int | None]:
        """The principal remembered for a credential's hash, bound to this
        request's session; else None and the generation to ``keep`` with
        (None: do not keep)."""
        if self._max_age <= 0:
            return None, None
        with self._lock:
            if not self._listening():
                return None, None
            entry = self._entries.get(digest)
            generation = self._generation
        if (
            entry is None
            or entry.until < time.monotonic()
            or (entry.principal.expires_at is not None and entry.principal.expires_at <= utcnow())
        ):
            return None, generation
        return replace(entry.principal, user=db.session.merge(entry.principal.user, load=False)), None

    def keep(self, digest: str, principal: Principal, generation: int | None) -> None:
        """Remember a principal read from the database, unless a change was
        announced since ``lookup`` (the read may predate it)."""
        if generation is None or principal.user is None:
            return
        user = principal.user
        snapshot = User(**{attr.key: getattr(user, attr.key) for attr in inspect(User).column_attrs})
        make_transient_to_detached(snapshot)
        entry = _Entry(replace(principal, user=snapshot), time.monotonic() + self._max_age)
        with self._lock:
            if self._listening() and generation == self._generation:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[digest] = entry

    def clear(self) -> None:
        with self._lock:
            self._forget()

    def _forget(self) -> None:
        self._entries.clear()
        self._generation += 1

    def _listening(self) -> bool:
        """Apply the announced changes; False when not subscribed (call
        with the lock held)."""
        if self._pubsub is not None and self._pid != os.getpid():
            self._pubsub = None
            self._forget()
        pubsub = self._pubsub or self._subscribe()
        if pubsub is None:
            return False
        try:
            while (message := pubsub.get_message(timeout=0)) is not None:
                if message["type"] == "message":
                    self._forget()
        except (redis.RedisError, OSError) as error:
            log.warning(
                "Redis unavailable (%s): credentials are checked in the database on every request", type(error).__name__
            )
            self._close()
            return False
        return True

    def _subscribe(self) -> PubSub | None:
        """A new subscription, or None (Redis down, or tried too recently)."""
        if time.monotonic() < self._retry_at:
            return None
        # No retries: a dropped connection must surface here, not be quietly
        # replaced by one that missed the messages sent meanwhile.
        client = redis.Redis.from_url(
            self._redis_url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        pubsub = self._pubsub = client.pubsub()
        try:
            pubsub.subscribe(CHANNEL)
            confirmed = pubsub.get_message(timeout=0.5)  # changes count only from here
            if not confirmed or confirmed["type"] != "subscribe":
                raise redis.ConnectionError("no subscription confirmed")
        except (redis.RedisError, OSError):
            self._close()
            return None
        self._pid = os.getpid()
        self._forget()
        return pubsub

    def _close(self) -> None:
        self._forget()
        self._retry_at = time.monotonic() + RESUBSCRIBE_SECONDS
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                pubsub.close()


def cache() -> PrincipalCache:
    app = current_app
    found = app.extensions.get("hub_principals")
    if found is None:
        found = app.extensions.setdefault(
            "hub_principals", PrincipalCache(app.config["REDIS_URL"], app.config["HUB_CREDENTIAL_CACHE_SECONDS"])
        )
    return found


# -- announcing changes ---------------------------------------------------


def take_change(session) -> bool:
    """After commit: whether it changed a credential; if so this process
    forgets at once (the others when the announcement reaches them)."""
    changed = session.info.pop(_FLAG, False)
    if changed and has_app_context():
        cache().clear()
    return changed


def publish_change(pipeline) -> None:
    pipeline.publish(CHANNEL, "1")


def _before_flush(session, _context, _instances) -> None:
    if any(isinstance(obj, WATCHED) for obj in (*session.dirty, *session.deleted)):
        session.info[_FLAG] = True


def _orm_execute(state) -> None:
    if (state.is_update or state.is_delete) and any(m.class_ in WATCHED for m in state.all_mappers):
        state.session.info[_FLAG] = True


def _rolled_back(session) -> None:
    session.info.pop(_FLAG, None)


def install() -> None:
    if not sa_event.contains(Session, "before_flush", _before_flush):
        sa_event.listen(Session, "before_flush", _before_flush)
        sa_event.listen(Session, "do_orm_execute", _orm_execute)
        sa_event.listen(Session, "after_rollback", _rolled_back)
