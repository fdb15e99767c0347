"""The sweeper: the database says what is due, and this puts it on RQ.

Run by ``codetether-hub delivery-worker`` every HUB_WEBHOOK_SWEEP_INTERVAL seconds
(one worker sweeps at a time, by a Redis lock). It

1. enqueues events that committed but never reached Redis (Redis was down,
   or the web process died between commit and enqueue);
2. takes back deliveries whose attempt outlived its lease (the worker was
   killed mid-send: a live one renews its leases, hub.webhooks.lanes): that
   attempt is logged as lost and retried at once;
3. enqueues retries that are due (it is the scheduler for retries);
4. once an hour, deletes audit log entries past HUB_AUDIT_RETENTION_DAYS.

Job ids are deterministic and each attempt is claimed in the database, so
sweeping something that is already queued or running cannot send it twice.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from datetime import timedelta

import redis
from flask import Flask
from sqlalchemy import insert, select, update

from hub import jobs
from hub.db import begin_write, db, utcnow
from hub.logs import Fault
from hub.models import Delivery, DeliveryAttempt, Event
from hub.services import audit, workers
from hub.webhooks import dispatch, states

log = logging.getLogger(__name__)
# A sweep runs every second or so: a fault is logged when it starts, in a
# summary every 30 s, and when it clears, not at every sweep. (Redis down is
# the worker's one fault, jobs.REDIS_DOWN.)
SWEEP_FAILED = Fault(log, "sweep failing")

BATCH = 1000
SWEEP_DISPATCH_JOB = "dispatch-swept"
LOCK_KEY = "hub:sweeper:lock"
LOST = "The worker stopped during this attempt (its lease ran out); retried."
# Entries live for months: pruning every second would only take the write lock for nothing.
PRUNE_EVERY = 3600.0
_pruned_at = -PRUNE_EVERY  # time.monotonic() of this process's last prune


def sweep(app: Flask) -> dict:
    """One sweep; returns what it did, for logs and tests."""
    with app.app_context():
        done = {"reclaimed": reclaim_expired(), "leases": workers.expire_leases()}
        try:
            done.update(enqueue_due(app))
        except redis.RedisError as error:
            jobs.REDIS_DOWN.happened("the sweep enqueues nothing", error)
        done["audit_pruned"] = prune_audit()  # last: a failing prune never holds deliveries back
        return done


def prune_audit() -> int:
    global _pruned_at
    if time.monotonic() - _pruned_at < PRUNE_EVERY:
        return 0
    _pruned_at = time.monotonic()  # first: a prune that fails waits for the next hour, not the next sweep
    return audit.prune()


def reclaim_expired() -> int:
    begin_write()
    now = utcnow()
    expired = list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.status == "sending", Delivery.next_attempt_at <= now)
            .limit(BATCH)
            .with_for_update(of=Delivery)
        )
    )
    if expired:
        db.session.execute(
            insert(DeliveryAttempt),
            [{"delivery_pk": d.pk, "number": d.attempts, "started_at": d.updated_at, "error": LOST} for d in expired],
        )
        db.session.execute(
            update(Delivery),
            [states.row(d.status, "retrying", now, pk=d.pk, next_attempt_at=now, last_error=LOST) for d in expired],
        )
        log.warning("sweep: %d delivery attempt(s) outlived their lease; retrying", len(expired))
    db.session.commit()
    return len(expired)


def enqueue_due(app: Flask) -> dict:
    config = app.config
    queue = jobs.queue(app=app)
    now = utcnow()
    grace = now - timedelta(seconds=max(1.0, config["HUB_WEBHOOK_SWEEP_INTERVAL"]))
    # A job still running after this long has a dead worker: jobs claim in
    # the database and hand their attempts to the lanes within milliseconds.
    stale = 3 * config["HUB_WEBHOOK_LEASE_SECONDS"]
    undispatched = db.session.scalars(
        select(Event.id).where(Event.dispatched_at.is_(None), Event.created_at <= grace).order_by(Event.pk).limit(BATCH)
    ).all()
    due = db.session.execute(
        select(Delivery.id, Delivery.attempts)
        .where(Delivery.status == "retrying", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(BATCH)
    ).all()
    db.session.commit()
    # One dispatch job takes every waiting event; the fixed id keeps sweeps
    # from queueing a second while the first waits or runs.
    events = (
        len(undispatched)
        if undispatched and dispatch.ensure_job(queue, SWEEP_DISPATCH_JOB, dispatch.DISPATCH, (), stale, now)
        else 0
    )
    retries = sum(
        dispatch.ensure_job(
            queue,
            dispatch.attempt_job_id(delivery_id, attempts + 1),
            dispatch.ATTEMPT,
            (delivery_id, attempts + 1),
            stale,
            now,
        )
        for delivery_id, attempts in due
    )
    if events:
        log.warning("sweep: enqueued %d event(s) that had not reached Redis", events)
    return {"events": events, "retries": retries}


class Sweeper(threading.Thread):
    """Sweeps in the background of a worker process until stopped."""

    def __init__(self, app: Flask):
        super().__init__(name="sweeper", daemon=True)
        self.app = app
        self.interval = app.config["HUB_WEBHOOK_SWEEP_INTERVAL"]
        self.stopping = threading.Event()
        self.token = secrets.token_hex(8)

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                if self._lock():
                    sweep(self.app)
                SWEEP_FAILED.cleared()
            except Exception as error:  # the database down, say: the first time with its traceback
                SWEEP_FAILED.happened(error=error, exc_info=True)

    def _lock(self) -> bool:
        """One sweep per interval across all workers."""
        try:
            conn = jobs.connection(self.app)
            locked = bool(conn.set(LOCK_KEY, self.token, nx=True, px=max(int(self.interval * 900), 50)))
        except redis.RedisError as error:
            jobs.REDIS_DOWN.happened("the sweep still takes back expired leases in the database", error)
            return True
        jobs.REDIS_DOWN.cleared()  # every worker asks Redis here every interval
        return locked

    def stop(self) -> None:
        self.stopping.set()
