"""After commit: make sure a dispatch job will see the committed events.

Services record events in the outbox (``services/events.record``), which
also lists their ids in ``session.info["hub_events"]``. One dispatch job
(``hub.webhooks.delivery.dispatch_pending``) fans out every undispatched event
it finds and sends their first attempts together, so a commit enqueues one
only when none is waiting: the QUEUED flag says one is, and the job clears
it before it reads the outbox. Most commits thus cost one Redis command, in
the same round trip as the wake-up for waiting agent workers
(``hub.wakeups``). If Redis is down the request still succeeds: the event
stays undispatched in the database and the sweeper enqueues a dispatch job.
"""

from __future__ import annotations

import logging
from datetime import datetime

import redis
from flask_sqlalchemy.session import Session
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import event as sa_event

from hub import jobs, wakeups
from hub.auth import principals
from hub.logs import Fault

log = logging.getLogger(__name__)
# Every commit during a Redis outage meets it: one line when it starts.
REDIS_DOWN = Fault(log, "Redis unavailable after a commit")

# Finished jobs vanish (the database keeps the outcome); failed ones are kept
# a day for inspection. Our own timeouts bound a job well below the hour.
JOB_OPTIONS = {"result_ttl": 0, "failure_ttl": 86400, "job_timeout": 3600}
DISPATCH = "hub.webhooks.delivery.dispatch_pending"
ATTEMPT = "hub.webhooks.delivery.run_attempt"
# Set while a dispatch job waits to start. It lapses, so one left behind by
# an enqueue that failed holds back the next ones only this long.
QUEUED = "hub:events:dispatch-queued"
QUEUED_SECONDS = 10


def enqueue_dispatch() -> None:
    """Queue a dispatch job (the caller knows none is waiting)."""
    jobs.queue().enqueue(DISPATCH, **JOB_OPTIONS)


def dispatch_started(connection: redis.Redis) -> None:
    """Called by the dispatch job before it reads the outbox: events
    committed from now on queue the next run."""
    connection.delete(QUEUED)


def attempt_job_id(delivery_id: str, number: int) -> str:
    """One id per attempt: enqueueing an attempt twice cannot run it twice."""
    return f"attempt-{delivery_id}-{number}"


def enqueue_attempt(delivery_id: str, number: int, queue: Queue | None = None) -> None:
    queue = queue or jobs.queue()
    queue.enqueue(ATTEMPT, delivery_id, number, job_id=attempt_job_id(delivery_id, number), **JOB_OPTIONS)


def ensure_job(queue: Queue, job_id: str, func: str, args: tuple, stale_after: float, now: datetime) -> bool:
    """Enqueue ``job_id`` unless a live job with that id is in Redis.

    Queued jobs are left alone (RQ's own maintenance requeues one a killed
    worker had taken); a job that failed, or started longer ago than
    ``stale_after`` seconds (its worker died), is replaced. Returns True if
    enqueued."""
    for _ in range(2):
        try:
            queue.enqueue(func, *args, job_id=job_id, unique=True, **JOB_OPTIONS)
            return True
        except DuplicateJobError:
            try:
                job = Job.fetch(job_id, connection=queue.connection)
                status = job.get_status()
            except NoSuchJobError:
                continue  # it just finished; try again
            if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
                return False
            if (
                status == JobStatus.STARTED
                and job.started_at
                and (now - job.started_at.replace(tzinfo=None)).total_seconds() < stale_after
            ):
                return False
            job.delete()
    return False


def _after_commit(session) -> None:
    ids = session.info.pop("hub_events", None) or []
    wake = wakeups.take_wakeup(session)
    changed = principals.take_change(session)
    if not ids and not wake and not changed:
        return
    connection = jobs.connection()
    pipeline = connection.pipeline(transaction=False)
    try:
        if ids:
            pipeline.set(QUEUED, 1, nx=True, ex=QUEUED_SECONDS)
        if wake:
            wakeups.publish_wakeup(pipeline)
        if changed:
            principals.publish_change(pipeline)
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
            enqueue_dispatch()
        REDIS_DOWN.cleared()
    except redis.RedisError as error:
        left = []
        if ids:
            left.append(f"{len(ids)} event(s) left for the sweeper")
        if wake:
            left.append("waiting workers find the task at their next claim")
        if changed:
            left.append(
                "a changed credential is seen by other processes once they notice the outage, "
                "or within HUB_CREDENTIAL_CACHE_SECONDS"
            )
        REDIS_DOWN.happened("; ".join(left), error)
    finally:
        pipeline.reset()


def _after_rollback(session) -> None:
    session.info.pop("hub_events", None)


def install() -> None:
    if not sa_event.contains(Session, "after_commit", _after_commit):
        sa_event.listen(Session, "after_commit", _after_commit)
        sa_event.listen(Session, "after_rollback", _after_rollback)
