"""Probes for load balancers and orchestrators.

``/healthz``: the process answers (liveness; never touches a dependency, so a
database outage does not get every web process restarted). ``/readyz``: the
database takes a write and Redis answers, else 503 naming the one that does
not. A write, not a read: a full disk, a read-only file or a standby server
still answers reads while every create fails.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import update

from hub import jobs
from hub.db import DATABASE_DOWN, begin_write, db, rows_changed, utcnow
from hub.logs import Fault
from hub.models import HealthCheck

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)
# Probed every few seconds: a failing check is logged when it starts, every
# 30 s, and when it clears.
REDIS_DOWN = Fault(log, "readiness: Redis unavailable")


@blp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def _check_database() -> None:
    """Commit one small write (the row the migration made)."""
    try:
        begin_write()
        now = utcnow()
        if not rows_changed(update(HealthCheck).where(HealthCheck.name == "readyz").values(checked_at=now)):
            db.session.add(HealthCheck(name="readyz", checked_at=now))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _check_redis() -> None:
    jobs.connection(current_app).ping()


@blp.get("/readyz")
def readyz():
    checks = {}
    for name, check, fault in (("database", _check_database, DATABASE_DOWN), ("redis", _check_redis, REDIS_DOWN)):
        try:
            check()
            checks[name] = "ok"
            fault.cleared()
        except Exception as exc:  # any failure means "not ready"; say which
            fault.happened("/readyz answers 503", exc)
            checks[name] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
