"""Prometheus metrics at ``/metrics`` (prometheus-client).

Counters and histograms are observed where things happen; under gunicorn
they live in PROMETHEUS_MULTIPROC_DIR so every worker process adds to one
total (gunicorn.conf.py sets the folder up). Gauges of state -- tasks by
status, jobs waiting in each queue -- are read from the database and Redis
at scrape time, so they are right whichever process answers the scrape.

Who may scrape: with HUB_METRICS_TOKEN set, a client that sends it as a
bearer token; without, only a client on this host's loopback that came
through no proxy. Anyone else gets what an unknown path gets (404).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from functools import lru_cache

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from hub import jobs, limits
from hub.auth import bearer_token
from hub.db import db
from hub.errors import Unauthorized
from hub.logs import Fault
from hub.models import Task

log = logging.getLogger(__name__)
QUEUE_DEPTH_UNAVAILABLE = Fault(log, "queue depth unavailable")
blp = Blueprint("metrics", __name__)

REQUESTS = Counter(
    "hub_http_requests_total", "HTTP requests answered, by route template and status.", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "hub_http_request_duration_seconds",
    "Time to answer a request, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# Observed by the webhook delivery jobs: one attempt = one POST to a target.
DELIVERY_ATTEMPTS = Counter("hub_delivery_attempts_total", "Webhook delivery attempts, by outcome.", ["outcome"])
DELIVERY_SECONDS = Histogram(
    "hub_delivery_duration_seconds",
    "Time a delivery attempt's POST took.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def observe_delivery(outcome: str, seconds: float) -> None:
    """Record one delivery attempt: ``outcome`` is delivered, failed, ..."""
    DELIVERY_ATTEMPTS.labels(outcome=outcome).inc()
    DELIVERY_SECONDS.observe(seconds)


class StateCollector:
    """Gauges read at scrape time, inside the /metrics request."""

    def collect(self):
        tasks = GaugeMetricFamily("hub_tasks", "Tasks by status.", labels=["status"])
        counts = dict(db.session.execute(select(Task.status, func.count()).group_by(Task.status)).all())
        for status in ("pending", "running", "completed", "failed", "cancelled"):
            tasks.add_metric([status], counts.get(status, 0))
        yield tasks
        depth = GaugeMetricFamily("hub_queue_depth", "Jobs waiting in each background queue.", labels=["queue"])
        try:
            for name in jobs.QUEUE_NAMES:
                depth.add_metric([name], len(jobs.queue(name, current_app)))
            QUEUE_DEPTH_UNAVAILABLE.cleared()
        except Exception as exc:  # Redis down: say so in the logs (once an outage), still answer the rest
            QUEUE_DEPTH_UNAVAILABLE.happened(error=exc)
        yield depth


def _allow_scrape() -> None:
    expected = current_app.config.get("HUB_METRICS_TOKEN")
    if not expected:
        if not _from_loopback():
            abort(404)
        return
    limits.check_auth_failures()  # a guesser of the token is stopped like one of an API key
    sent = bearer_token() or ""
    if not hmac.compare_digest(sent.encode(), expected.encode()):  # constant time
        limits.count_auth_failure()
        raise Unauthorized(
            "Send 'Authorization: Bearer <HUB_METRICS_TOKEN>'.", error="" if not sent else "invalid_token"
        )


def _from_loopback() -> bool:
    """The peer is this host and no proxy relayed the request: a proxy on
    the same host would make every outside client look local."""
    if any(header in request.headers for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP")):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


@blp.get("/metrics")
def metrics():
    _allow_scrape()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    state = CollectorRegistry()
    state.register(StateCollector())
    # content_type, not mimetype: CONTENT_TYPE_LATEST names its charset already.
    return Response(generate_latest(registry) + generate_latest(state), content_type=CONTENT_TYPE_LATEST)


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
