"""Background jobs on RQ: the queue the web processes enqueue on, and the
worker that runs them."""

from __future__ import annotations

import gc
import logging
import time

import redis
from flask import Flask, current_app
from rq import Queue, SimpleWorker

from hub.logs import Fault, FaultFilter

log = logging.getLogger(__name__)
# A delivery worker's Redis outage, met by its RQ loop, its sweeper and RQ's
# own retries: logged when it starts, every 30 s, and when it clears.
REDIS_DOWN = Fault(log, "worker: Redis unavailable")

QUEUE_NAMES = ("deliveries",)


def connection(app: Flask | None = None) -> redis.Redis:
    app = app or current_app
    conn = app.extensions.get("hub_redis")
    if conn is None:
        conn = redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)
        app.extensions["hub_redis"] = conn
    return conn


def queue(name: str = "deliveries", app: Flask | None = None) -> Queue:
    return Queue(name, connection=connection(app))


class ListeningWorker(SimpleWorker):
    """RQ's SimpleWorker, but its thread for RQ's own commands wakes every
    second rather than every 60: at a stop, RQ unsubscribes and then waits
    for that thread (redis-py 8), which, if it saw the unsubscribe first,
    sat out the rest of its 60 s sleep and held the stop that long."""

    def subscribe(self):
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler
        )


class DeliveryWorker(ListeningWorker):
    """On SIGTERM/SIGINT RQ lets the job in hand finish (warm shutdown); a
    webhook send that hangs would hold the stop up to its timeout for each
    round of sends. So sends still in flight after STOP_GRACE_SECONDS are
    cut and their deliveries handed back (hub/webhooks/in_flight.py)."""

    def handle_warm_shutdown_request(self):
        super().handle_warm_shutdown_request()
        from hub.webhooks import in_flight

        in_flight.stop_after(STOP_GRACE_SECONDS)


STOP_GRACE_SECONDS = 2.0


def run_worker(app: Flask) -> None:
    """Run jobs until SIGINT/SIGTERM, with the sweeper beside them.

    SimpleWorker runs jobs in this process: RQ's default worker forks per
    job, which managed ~26 no-op jobs/s here against ~440 for SimpleWorker
    (bench/webhooks.py measures it again). Should Redis go away, RQ's loop
    may give up; this one waits and starts it again, so the worker outlives
    a Redis restart.
    """
    from hub.webhooks import lanes
    from hub.webhooks.sweeper import Sweeper

    rq_log = logging.getLogger("rq.worker")
    if not any(isinstance(f, FaultFilter) for f in rq_log.filters):
        rq_log.addFilter(FaultFilter(REDIS_DOWN, "could not connect to Redis instance"))
    sweeper = Sweeper(app)
    sweeper.start()
    try:
        while True:
            worker = None
            try:
                worker = DeliveryWorker([queue(n, app) for n in QUEUE_NAMES], connection=connection(app))
                log.info("worker listening on %s", ", ".join(QUEUE_NAMES))
                worker.work(logging_level="WARNING")
            except redis.RedisError as error:
                REDIS_DOWN.happened("the worker starts again", error)
            if worker is not None and _stopping(worker):
                break
            time.sleep(1)
    finally:
        sweeper.stop()
        # Jobs hand their attempts to the lanes and return at once: let what
        # the lanes hold be sent and recorded (sends still hung are cut by
        # hub/webhooks/in_flight.py).
        lanes.settle(app, app.config["HUB_WEBHOOK_TIMEOUT"] + 5)
        gc.freeze()  # skip the exit's collection of every object: a faster stop


def _stopping(worker: SimpleWorker) -> bool:
    """Did the worker end on SIGINT/SIGTERM (rather than on losing Redis)?"""
    return bool(getattr(worker, "_shutdown_requested_date", None) or getattr(worker, "_stop_requested", False))
