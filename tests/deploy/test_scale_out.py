"""The scale-out shape from docs/deploy.md: two hub processes (gunicorn) and
two delivery workers against one PostgreSQL and one Redis. Every event is
delivered exactly once per subscription, whichever process took the request
and whichever worker took the job."""

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import TEST_DATABASE, free_port, repo_root, wait_for
from webhooks.fixtures import receiver, start_worker, subscribe, webhook_settings  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(TEST_DATABASE != "postgresql", reason="shown on PostgreSQL, as deployed")

TASKS = 40


class Gunicorn:
    def __init__(self, metrics_dir):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(
            os.environ,
            HUB_PORT=str(self.port),
            HUB_WEB_WORKERS="2",
            HUB_WEB_THREADS="4",
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:hub.gunicorn_conf", "wsgi:app"],
            cwd=repo_root(),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()

    def ready(self):
        assert self.process.poll() is None, "".join(self.lines)
        try:
            return httpx.get(self.base + "/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(40)


def test_two_hubs_and_two_workers_deliver_every_event_once_per_subscription(
    make_user, receiver, start_worker, app, tmp_path
):
    from hub.db import db
    from hub.models import Delivery, Event

    alice = make_user("alice", tier="enterprise")  # no cap on unfinished tasks

    hooks = [subscribe(alice, receiver, path="/a"), subscribe(alice, receiver, path="/b")]
    hubs = [Gunicorn(tmp_path / "metrics-a"), Gunicorn(tmp_path / "metrics-b")]
    for hub in hubs:
        wait_for(hub.ready, timeout=30, interval=0.1, message="both hubs to be ready")
    # The workers share hub A's metrics folder, as on one host (docs/deploy.md).
    workers = [start_worker(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics-a")) for _ in range(2)]
    try:

        def create(n):
            hub = hubs[n % 2]
            response = httpx.post(
                hub.base + "/api/v1/tasks",
                headers=alice.headers,
                json={"title": f"task {n}", "prompt": "scale out"},
                timeout=10,
            )
            assert response.status_code == 201, response.text
            return response.json()["id"]

        with ThreadPoolExecutor(8) as pool:
            task_ids = set(pool.map(create, range(TASKS)))
        assert len(task_ids) == TASKS

        def all_delivered():
            with app.app_context():
                done = db.session.scalar(
                    db.select(db.func.count()).select_from(Delivery).where(Delivery.status == "delivered")
                )
                db.session.remove()
            return done == TASKS * len(hooks) and len(receiver.requests) >= TASKS * len(hooks)

        wait_for(all_delivered, timeout=60, interval=0.1, message="every delivery to be made")
        for process in workers:
            assert process.process.poll() is None, "a worker died"
        # A worker counts an attempt just after committing it: scrape until the last one is counted.
        expected = (
            f'hub_delivery_attempts_total{{outcome="delivered"}} {float(TASKS * len(hooks))}',
            f"hub_delivery_duration_seconds_count {float(TASKS * len(hooks))}",
        )
        wait_for(
            lambda: all(line in httpx.get(hubs[0].base + "/metrics", timeout=30).text for line in expected),
            timeout=10,
            interval=0.1,
            message="every delivery in the shared metrics",
        )
    finally:
        codes = [hub.stop() for hub in hubs]
    assert codes == [0, 0]

    with app.app_context():
        events = dict(db.session.execute(db.select(Event.id, Event.task_id).where(Event.type == "task.created")).all())
    assert set(events.values()) == task_ids
    for path in ("/a", "/b"):
        got = Counter(r.headers["webhook-id"] for r in receiver.requests if r.path == path)
        assert set(got) == set(events), f"{path}: every event arrived"
        assert max(got.values()) == 1, f"{path}: no event twice: {[k for k, v in got.items() if v > 1]}"
