"""Live task changes: once a commit changes a task, every process hears of it.

A service that changes a task (its status, its worker's output, a message in
its conversation) calls ``changed(task, what)``; once the transaction commits,
the after-commit pipeline (``hub.after_commit``) PUBLISHes one message per
task on ``hub:live:<space pk>``, naming the task and what changed. Never before
the commit: a subscriber re-reads the task and must find the change. The
message carries no task data, so the database stays the one truth.

Each process holds one subscriber connection (``Feed``: a thread on a
PSUBSCRIBE) and fans the messages out in-process to ``Subscription``\\ s of
one space (or one of its tasks): an MCP session or a page waiting costs no
Redis connection of its own; with no subscription left, the thread and its
connection end within seconds. While Redis is down (or a message was missed),
subscriptions get a ``poll`` change every ``POLL_SECONDS`` so their owners
re-read the database: a change arrives late then, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import redis
from flask import Flask, current_app

from hub.db import db
from hub.logs import Fault

log = logging.getLogger(__name__)
REDIS_DOWN = Fault(log, "Redis unavailable: live task changes fall back to polling the database")

PREFIX = "hub:live:"
_KEY = "hub_live_changes"
# While the feed is down, how often subscribers re-read the database; modest,
# since every waiting subscriber reads then.
POLL_SECONDS = 2.0
READY_SECONDS = 2.0  # a new feed's first subscriber waits this long for its PSUBSCRIBE

STATUS, OUTPUT, MESSAGE, POLL = "status", "output", "message", "poll"


class Change(NamedTuple):
    """What changed about one task (``task_id``); ``what`` holds ``status``,
    ``output``, ``message``, or ``poll``: unknown, re-read it (``task_id``
    None: any of the space's tasks)."""

    task_id: str | None
    what: frozenset[str]


def changed(task: Any, what: str) -> None:
    """Publish that ``task`` changed (``what``) once the current transaction commits."""
    pending: dict[tuple[int, str], set[str]] = db.session.info.setdefault(_KEY, {})
    pending.setdefault((task.space_pk, task.id), set()).add(what)


def take_changes(session) -> dict[tuple[int, str], set[str]]:
    """After commit: the task changes the transaction noted."""
    changes: dict[tuple[int, str], set[str]] = session.info.pop(_KEY, {})
    return changes


def publish_changes(pipeline, changes: dict[tuple[int, str], set[str]]) -> None:
    for (space_pk, task_id), what in changes.items():
        pipeline.publish(f"{PREFIX}{space_pk}", json.dumps({"task_id": task_id, "what": sorted(what)}))


def forget_changes(session) -> None:
    """After rollback: nothing changed."""
    session.info.pop(_KEY, None)


def subscribe(space_pk: int, task_id: str | None = None, *, app: Flask | None = None) -> Subscription:
    """Changes of the space's tasks (or of ``task_id`` alone) from now on.
    Close it (or use it as a context manager) when done."""
    return feed(app or current_app).subscribe(space_pk, task_id)


_feeds: dict[tuple[int, str], Feed] = {}
_feeds_lock = threading.Lock()


def feed(app: Flask) -> Feed:
    """This process's feed for the app's Redis (one per process: a forked
    worker starts its own)."""
    key = (os.getpid(), app.config["REDIS_URL"])
    with _feeds_lock:
        found = _feeds.get(key)
        if found is None:
            found = _feeds[key] = Feed(key[1])
        return found


class Feed:
    """One Redis subscriber connection, on a thread, fanned out to this
    process's subscriptions."""

    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self._lock = threading.Lock()
        self._subscriptions: dict[int, set[Subscription]] = {}
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()  # set once the PSUBSCRIBE is in place (or failed)
        self.up = False

    def subscribe(self, space_pk: int, task_id: str | None = None) -> Subscription:
        subscription = Subscription(self, space_pk, task_id)
        with self._lock:
            self._subscriptions.setdefault(space_pk, set()).add(subscription)
            if self._thread is None:
                self._ready.clear()
                self.up = False
                self._thread = threading.Thread(target=self._run, name="hub-live-feed", daemon=True)
                self._thread.start()
        # A change committed after this returns must reach the subscription.
        self._ready.wait(READY_SECONDS)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            found = self._subscriptions.get(subscription.space_pk)
            if found is not None:
                found.discard(subscription)
                if not found:
                    del self._subscriptions[subscription.space_pk]

    def _deliver(self, space_pk: int | None, change: Change) -> None:
        with self._lock:
            if space_pk is None:
                targets = [one for group in self._subscriptions.values() for one in group]
            else:
                targets = list(self._subscriptions.get(space_pk, ()))
        for subscription in targets:
            subscription._deliver(change)

    def _idle(self) -> bool:
        """No subscription left: the thread ends, and the connection with it
        (the next subscription starts them again)."""
        with self._lock:
            if self._subscriptions:
                return False
            self._thread = None
            return True

    def _run(self) -> None:
        while True:
            try:
                if self._listen():
                    return
            except redis.RedisError as error:
                if self.up:
                    self._deliver(None, Change(None, frozenset({POLL})))  # what was published meanwhile
                self.up = False
                REDIS_DOWN.happened("subscribers poll the database", error)
            self._ready.set()
            deadline = time.monotonic() + POLL_SECONDS
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(left)  # the outage: subscribers re-read at this pace
            if self._idle():
                return
            self._deliver(None, Change(None, frozenset({POLL})))

    def _listen(self) -> bool:
        """Hand on the messages until Redis fails (raises) or no one listens (True)."""
        connection = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=10)
        pubsub = connection.pubsub(ignore_subscribe_messages=False)
        try:
            pubsub.psubscribe(f"{PREFIX}*")
            while True:
                message = pubsub.get_message(timeout=5.0)
                if message is None:
                    if self._idle():
                        return True
                    pubsub.ping()  # a dead connection shows here, not never
                    continue
                if message["type"] == "psubscribe":
                    if not self.up and self._ready.is_set():
                        self._deliver(None, Change(None, frozenset({POLL})))  # back: re-read what was missed
                    self.up = True
                    REDIS_DOWN.cleared()
                    self._ready.set()
                elif message["type"] == "pmessage":
                    self._on_message(message)
        finally:
            with contextlib.suppress(redis.RedisError):
                pubsub.close()

    def _on_message(self, message: dict[str, Any]) -> None:
        try:
            space_pk = int(message["channel"][len(PREFIX) :])
            body = json.loads(message["data"])
            change = Change(str(body["task_id"]), frozenset(body["what"]))
        except (ValueError, KeyError, TypeError):
            log.warning("Ignored a malformed live task change on %r", message.get("channel"))
            return
        self._deliver(space_pk, change)


class Subscription:
    """One consumer's changes (merged per task until taken), waited on from
    a thread (``get``) or a coroutine (``next``)."""

    def __init__(self, feed: Feed, space_pk: int, task_id: str | None):
        self.feed, self.space_pk, self.task_id = feed, space_pk, task_id
        self._cond = threading.Condition()
        self._pending: dict[str | None, set[str]] = {}
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.closed = False

    def _deliver(self, change: Change) -> None:
        task_id = change.task_id
        if self.task_id is not None:
            if task_id not in (None, self.task_id):
                return
            task_id = self.task_id
        with self._cond:
            self._pending.setdefault(task_id, set()).update(change.what)
            self._cond.notify_all()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # its loop has closed
                loop.call_soon_threadsafe(_wake, future)

    def _take(self) -> list[Change]:
        taken = [Change(task_id, frozenset(what)) for task_id, what in self._pending.items()]
        self._pending = {}
        return taken

    def get(self, timeout: float) -> list[Change]:
        """The changes since the last call, waiting up to ``timeout`` seconds
        for one; [] if none came."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self.closed, timeout)
            return self._take()

    async def next(self, timeout: float) -> list[Change]:
        """``get`` for a coroutine: waits without holding a thread."""
        loop = asyncio.get_running_loop()
        with self._cond:
            if self._pending or self.closed:
                return self._take()
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, future))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(future, timeout)
        with self._cond:
            with contextlib.suppress(ValueError):
                self._waiters.remove((loop, future))
            return self._take()

    def close(self) -> None:
        self.feed._remove(self)
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[list[Change]]:
        while not self.closed:
            yield self.get(POLL_SECONDS)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
