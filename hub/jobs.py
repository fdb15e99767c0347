"""Background jobs on RQ: the Redis connection and the queue the web
processes enqueue on, and the loop that runs a worker through Redis outages
(the delivery worker itself is ``hub.webhooks.worker``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

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
        # RQ's Worker.__init__ sets pubsub_thread = None without an annotation, so mypy types it None.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler
        )


def work(new_worker: Callable[[], SimpleWorker]) -> None:
    """Run jobs on workers from ``new_worker`` until SIGINT/SIGTERM. Should
    Redis go away, RQ's loop may give up; this one waits and starts a new
    worker, so the process outlives a Redis restart."""
    rq_log = logging.getLogger("rq.worker")
    if not any(isinstance(f, FaultFilter) for f in rq_log.filters):
        rq_log.addFilter(FaultFilter(REDIS_DOWN, "could not connect to Redis instance"))
    while True:
        worker = None
        try:
            worker = new_worker()
            log.info("worker listening on %s", ", ".join(worker.queue_names()))
            worker.work(logging_level="WARNING")
        except redis.RedisError as error:
            REDIS_DOWN.happened("the worker starts again", error)
        if worker is not None and _stopping(worker):
            break
        time.sleep(1)  # Redis is away: try again in a second


def _stopping(worker: SimpleWorker) -> bool:
    """Did the worker end on SIGINT/SIGTERM (rather than on losing Redis)?"""
    return bool(getattr(worker, "_shutdown_requested_date", None) or getattr(worker, "_stop_requested", False))
