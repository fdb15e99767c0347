"""The scale-out shape from docs/deploy.md: two hub processes (gunicorn) and
two delivery workers against one PostgreSQL and one Redis. Every event is
delivered exactly once per subscription, whichever process took the request
and whichever worker took the job."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from support import TEST_DATABASE, wait_for
from support.delivery import subscribe

pytestmark = [
    pytest.mark.skipif(TEST_DATABASE != "postgresql", reason="shown on PostgreSQL, as deployed"),
    pytest.mark.usefixtures("webhook_settings"),
]

TASKS = 40


def test_two_hubs_and_two_workers_deliver_every_event_once_per_subscription(
    make_user, receiver, start_hub, start_delivery_worker, app, tmp_path
):
    from hub.db import db
    from hub.models import Delivery, Event

    alice = make_user("alice", tier="enterprise")  # no cap on unfinished tasks

    hooks = [subscribe(alice, receiver, path="/a"), subscribe(alice, receiver, path="/b")]
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics-a")}
    web = {"HUB_WEB_WORKERS": "2", "HUB_WEB_THREADS": "4"}
    hubs = [start_hub(process=True, env=shared, **web), start_hub(process=True, **web)]
    # The workers share hub A's metrics folder, as on one host (docs/deploy.md).
    workers = [start_delivery_worker(**shared) for _ in range(2)]
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
    assert codes == [0, 0]  # a clean stop on SIGTERM

    with app.app_context():
        events = dict(db.session.execute(db.select(Event.id, Event.task_id).where(Event.type == "task.created")).all())
    assert set(events.values()) == task_ids
    for path in ("/a", "/b"):
        got = Counter(r.headers["webhook-id"] for r in receiver.requests if r.path == path)
        assert set(got) == set(events), f"{path}: every event arrived"
        assert max(got.values()) == 1, f"{path}: no event twice: {[k for k, v in got.items() if v > 1]}"
