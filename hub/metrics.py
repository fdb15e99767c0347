"""Prometheus metrics at ``/metrics`` (prometheus-client).

Counters and histograms are observed where things happen; under gunicorn
they live in PROMETHEUS_MULTIPROC_DIR so every worker process adds to one
total (gunicorn.conf.py sets the folder up). Gauges of state -- tasks by
status, jobs waiting in each queue -- are read from the database and Redis
at scrape time, so they are right whichever process answers the scrape.
"""
from __future__ import annotations

import logging
import os
import time
from functools import lru_cache

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

log = logging.getLogger(__name__)
blp = Blueprint("metrics", __name__)

REQUESTS = Counter("hub_http_requests_total", "HTTP requests answered, by route template and status.",
                   ["method", "route", "status"])
REQUEST_SECONDS = Histogram("hub_http_request_duration_seconds", "Time to answer a request, by route template.",
                            ["route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
# Observed by the webhook delivery jobs: one attempt = one POST to a target.
DELIVERY_ATTEMPTS = Counter("hub_delivery_attempts_total", "Webhook delivery attempts, by outcome.", ["outcome"])
DELIVERY_SECONDS = Histogram("hub_delivery_duration_seconds", "Time a delivery attempt's POST took.",
                             buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def observe_delivery(outcome: str, seconds: float) -> None:
    """Record one delivery attempt: ``outcome`` is delivered, failed, ..."""
    DELIVERY_ATTEMPTS.labels(outcome=outcome).inc()
    DELIVERY_SECONDS.observe(seconds)


class StateCollector:
    """Gauges read at scrape time, inside the /metrics request."""

    def collect(self):
        from hub import jobs
        from hub.db import db
        from hub.models import Task

        tasks = GaugeMetricFamily("hub_tasks", "Tasks by status.", labels=["status"])
        counts = dict(db.session.execute(select(Task.status, func.count()).group_by(Task.status)).all())
        for status in ("pending", "running", "completed", "failed", "cancelled"):
            tasks.add_metric([status], counts.get(status, 0))
        yield tasks
        depth = GaugeMetricFamily("hub_queue_depth", "Jobs waiting in each background queue.", labels=["queue"])
        try:
            for name in jobs.QUEUE_NAMES:
                depth.add_metric([name], len(jobs.queue(name, current_app)))
        except Exception as exc:  # Redis down: say so in the logs, still answer the rest
            log.warning("queue depth unavailable: %s", type(exc).__name__)
        yield depth


@blp.get("/metrics")
def metrics():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    state = CollectorRegistry()
    state.register(StateCollector())
    return Response(generate_latest(registry) + generate_latest(state), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)

    @app.before_request
    def _start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count_request(response):
        route = request.url_rule.rule if request.url_rule else "unmatched"
        count, seconds = _request_series(request.method, route, response.status_code)
        count.inc()
        if "metrics_started" in g:
            seconds.observe(time.perf_counter() - g.metrics_started)
        return response


@lru_cache(maxsize=4096)
def _request_series(method: str, route: str, status: int):
    """The request counter and timer for these labels (prometheus-client's
    own lookup checks the labels on every call)."""
    return REQUESTS.labels(method=method, route=route, status=str(status)), REQUEST_SECONDS.labels(route=route)
