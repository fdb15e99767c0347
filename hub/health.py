"""Probes for load balancers and orchestrators.

``/healthz``: the process answers (liveness; never touches a dependency, so a
database outage does not get every web process restarted). ``/readyz``: the
database and Redis both answer, else 503 naming the one that does not.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from hub import jobs
from hub.db import db

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def _check_database() -> None:
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _check_redis() -> None:
    jobs.connection(current_app).ping()


@blp.get("/readyz")
def readyz():
    checks = {}
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; say which
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
