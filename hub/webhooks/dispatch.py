"""Enqueueing delivery jobs: a dispatch job that will see the committed
events, and one job per later attempt.

Services record events in the outbox (``services/events.record``), which
also lists their ids in ``session.info["hub_events"]``. One dispatch job
(``hub.webhooks.delivery.dispatch_pending``) fans out every undispatched event
it finds and sends their first attempts together, so a commit enqueues one
only when none is waiting: the QUEUED flag says one is, and the job clears
it before it reads the outbox. The flag is set in the commit's one round
trip to Redis (``hub.after_commit``); if Redis is down the event stays
undispatched in the database and the sweeper enqueues a dispatch job.
"""

from __future__ import annotations

from datetime import datetime

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session

from hub import jobs

# Finished jobs vanish (the database keeps the outcome); failed ones are kept
# a day for inspection. Our own timeouts bound a job well below the hour.
JOB_OPTIONS = {"result_ttl": 0, "failure_ttl": 86400, "job_timeout": 3600}
DISPATCH = "hub.webhooks.delivery.dispatch_pending"
ATTEMPT = "hub.webhooks.delivery.run_attempt"
# Set while a dispatch job waits to start. It lapses, so one left behind by
# an enqueue that failed holds back the next ones only this long.
QUEUED = "hub:events:dispatch-queued"
QUEUED_SECONDS = 10
_EVENTS = "hub_events"  # session.info: the ids of the events a transaction recorded


def take_events(session: Session) -> list[str]:
    """After commit: the ids of the events the transaction recorded."""
    ids: list[str] = session.info.pop(_EVENTS, None) or []
    return ids


def forget_events(session: Session) -> None:
    """After rollback: its events were never committed."""
    session.info.pop(_EVENTS, None)


def mark_queued(pipeline: redis.client.Pipeline) -> None:
    """In the commit's pipeline: set QUEUED unless it is set. A true reply
    means no dispatch job is waiting: then call ``enqueue_dispatch``."""
    pipeline.set(QUEUED, 1, nx=True, ex=QUEUED_SECONDS)


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
