"""Instant pickup: waiting workers learn of a new pending task at once.

A service that makes a task pending calls ``after_commit()``; once the
transaction commits, one Redis PUBLISH wakes every claim request that is
waiting in ``Waiter.wait()``. It travels in the same round trip as the
commit's other messages (``hub.after_commit``). Redis down costs only
latency: waiting claims still retry at their deadline.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import redis
from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import event as sa_event

from hub.db import db
from hub.logs import Fault

log = logging.getLogger(__name__)
# Every claim during a Redis outage meets it: logged when it starts and clears.
REDIS_DOWN = Fault(log, "Redis unavailable: claims poll instead of waiting")

CHANNEL = "hub:tasks:pending"
_FLAG = "hub_wake_workers"
# Set when this web process is stopping (gunicorn's SIGTERM, see
# hub/gunicorn_conf.py): waiting claims answer "no task" within
# STOP_CHECK_SECONDS, so a long-poll never holds up a stop.
_stopping = threading.Event()
STOP_CHECK_SECONDS = 0.5


def after_commit() -> None:
    """Wake waiting workers once the current transaction commits."""
    db.session.info[_FLAG] = True


def _redis() -> redis.Redis:
    conn = current_app.extensions.get("hub_wakeups_redis")
    if conn is None:
        conn = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)
        current_app.extensions["hub_wakeups_redis"] = conn
    return conn


def take_wakeup(session) -> bool:
    """After commit: whether the transaction asked to wake waiting workers."""
    return session.info.pop(_FLAG, False)


def publish_wakeup(pipeline) -> None:
    pipeline.publish(CHANNEL, "1")


_on_stop: list[Callable[[], None]] = []


def on_stop(callback: Callable[[], None]) -> None:
    """Call ``callback`` too when this process stops (from the signal
    handler: it must only hand work on, e.g. to an event loop), e.g. to end
    a connector endpoint's streams, which would hold up a stop as long-polls do."""
    _on_stop.append(callback)


def stop_waiting() -> None:
    """This process is stopping: end every waiting claim now (safe to call
    from a signal handler)."""
    _stopping.set()
    for callback in _on_stop:
        callback()


def _rolled_back(session) -> None:
    session.info.pop(_FLAG, None)


def install() -> None:
    if not sa_event.contains(Session, "after_rollback", _rolled_back):
        sa_event.listen(Session, "after_rollback", _rolled_back)


class Waiter:
    """A subscription opened *before* looking for work, so a task committed
    between the look and the wait still wakes us."""

    def __init__(self):
        self.pubsub = None
        try:
            self.pubsub = _redis().pubsub(ignore_subscribe_messages=True)
            self.pubsub.subscribe(CHANNEL)
            REDIS_DOWN.cleared()
        except redis.RedisError as error:
            REDIS_DOWN.happened(error=error)
            self.close()

    def wait(self, seconds: float) -> bool:
        """Return on a wake-up, or after ``seconds``; False if the hub is
        stopping and the claim should answer now."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if _stopping.is_set():
                return False
            if self.pubsub is None:
                return not _stopping.wait(min(left, 1.0))
            try:
                message = self.pubsub.get_message(timeout=min(left, STOP_CHECK_SECONDS))
            except redis.RedisError:
                self.close()
                continue
            if message is not None:
                return True
        return True

    def close(self) -> None:
        if self.pubsub is not None:
            with contextlib.suppress(redis.RedisError):
                self.pubsub.close()
        self.pubsub = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
