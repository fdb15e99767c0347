"""Webhook delivery in tests: the settings that make it quick, the delivery
worker as a real process, and the API calls that subscribe and watch."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

from support import wait_for
from support.processes import collect

# As an admin would set them: webhooks may reach this machine, retries come
# quickly, and no tier limit holds back the many tasks and polls here.
FAST = {
    "HUB_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
    "HUB_WEBHOOK_TIMEOUT": "1",
    "HUB_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2",
    "HUB_WEBHOOK_SWEEP_INTERVAL": "0.1",
    "HUB_TIER_RATE_LIMITS": "free=unlimited",
    "HUB_TIER_CONCURRENT_TASKS": "free=unlimited",
}


class DeliveryWorker:
    """`codetether-hub delivery-worker` as its own process group (it may start
    children), so a test can SIGKILL the lot as a crash would."""

    def __init__(self, env: dict | None = None):
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log: list[str] = []  # its stderr: what an admin would read

    def start(self) -> DeliveryWorker:
        env = dict(os.environ, HUB_LOG_FORMAT="text", **(self.env or {}))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub", "delivery-worker"],
            env=env,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log = collect(self.process.stderr)
        return self

    def lines(self) -> list[str]:
        return [line.rstrip("\n") for line in list(self.log)]

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # anything it left behind
        print(f"--- worker {self.process.pid} ---\n" + "\n".join(self.lines()[-40:]))  # shown if a test fails


def subscribe(user, receiver, event="task.created", path="/hook", **fields):
    response = user.post("/api/v1/hooks", json={"event": event, "target_url": receiver.url(path), **fields})
    assert response.status_code == 201, response.json
    return response.json


def deliveries(user, hook_id):
    response = user.get(f"/api/v1/hooks/{hook_id}/deliveries")
    assert response.status_code == 200, response.json
    return response.json


def wait_delivery(user, hook_id, predicate, timeout=15.0, message="delivery state"):
    def check():
        items = deliveries(user, hook_id)
        return items if items and predicate(items) else None

    return wait_for(check, timeout, interval=0.05, message=message)


def undispatched(app) -> int:
    from hub.db import db
    from hub.models import Event

    with app.app_context():
        return db.session.query(Event).filter(Event.dispatched_at.is_(None)).count()


def wait_dispatched(app, timeout=15.0):
    """Every committed event has been fanned out by a worker."""
    wait_for(lambda: undispatched(app) == 0, timeout, message="every event to be dispatched")
