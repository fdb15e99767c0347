"""After a commit, what the transaction asks of Redis, in one round trip.

A transaction may have recorded events (the outbox: a dispatch job must see
them, ``hub.webhooks.dispatch``), made a task pending (waiting agent workers
are woken, ``hub.wakeups``), changed a task (its subscribers re-read it,
``hub.live``) and changed a credential (every process's credential cache
forgets, ``hub.auth.principals``). Each module notes its
part in the session; once it commits, one pipeline carries them all, so
most commits cost one Redis command. If Redis is down the request still
succeeds: events stay undispatched in the database and the sweeper enqueues
a dispatch job, waiting claims find the task at their deadline, task
subscribers poll the database, and the caches notice the outage (one log
line when it starts, one when it clears).
"""

from __future__ import annotations

import logging

import redis
from flask_sqlalchemy.session import Session
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession

from hub import jobs, live, wakeups
from hub.auth import principals
from hub.logs import Fault
from hub.webhooks import dispatch

log = logging.getLogger(__name__)
# Every commit during a Redis outage meets it: one line when it starts.
REDIS_DOWN = Fault(log, "Redis unavailable after a commit")


def _after_commit(session: OrmSession) -> None:
    ids = dispatch.take_events(session)
    wake = wakeups.take_wakeup(session)
    changed = principals.take_change(session)
    tasks_changed = live.take_changes(session)
    if not ids and not wake and not changed and not tasks_changed:
        return
    connection = jobs.connection()
    pipeline = connection.pipeline(transaction=False)
    try:
        if ids:
            dispatch.mark_queued(pipeline)  # first in the pipeline: its reply is replies[0]
        if wake:
            wakeups.publish_wakeup(pipeline)
        if changed:
            principals.publish_change(pipeline)
        if tasks_changed:
            live.publish_changes(pipeline, tasks_changed)
        replies = pipeline.execute()
        if changed:
            # Redis answers a PUBLISH before it writes the message to the
            # subscribers (the same turn of its loop, but the publisher's
            # reply goes first). Once a second round trip returns, that turn
            # is over: every process holds the announcement, so the next
            # request anywhere, even one this commit's caller makes at once,
            # sees the change. Credential changes are rare; the cost is one
            # round trip on them.
            connection.ping()
        if ids and replies[0]:  # the flag was not set: no dispatch job is waiting
            dispatch.enqueue_dispatch()
        REDIS_DOWN.cleared()
    except redis.RedisError as error:
        left = []
        if ids:
            left.append(f"{len(ids)} event(s) left for the sweeper")
        if wake:
            left.append("waiting workers find the task at their next claim")
        if tasks_changed:
            left.append("task subscribers see the change at their next poll")
        if changed:
            left.append(
                "a changed credential is seen by other processes once they notice the outage, "
                "or within HUB_CREDENTIAL_CACHE_SECONDS"
            )
        REDIS_DOWN.happened("; ".join(left), error)
    finally:
        pipeline.reset()


def _after_rollback(session: OrmSession) -> None:
    dispatch.forget_events(session)
    live.forget_changes(session)


def install() -> None:
    if not sa_event.contains(Session, "after_commit", _after_commit):
        sa_event.listen(Session, "after_commit", _after_commit)
        sa_event.listen(Session, "after_rollback", _after_rollback)
