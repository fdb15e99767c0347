"""A worker killed while its claim waits must not take the next task with
it: the hub notices the hung-up claim and leaves the task to a live worker
(say, the same worker restarted by `up`), instead of holding it in a dead
lease for HUB_WORKER_LEASE_SECONDS."""

import signal
import subprocess
import sys
import textwrap
import time

import httpx
from support import wait_for

CLAIM = textwrap.dedent("""
    import httpx, sys
    url, token = sys.argv[1], sys.argv[2]
    httpx.post(url, json={"wait": 20}, headers={"Authorization": "Bearer " + token}, timeout=60)
""")


def test_a_claim_whose_worker_died_leaves_the_task_to_a_live_worker(app, live_hub, caller, worker_token):
    from hub.models import Worker

    api = httpx.Client(
        base_url=live_hub.url("/api/v1/worker"), headers={"Authorization": f"Bearer {worker_token}"}, timeout=30
    )
    dead = api.post("/register", json={"name": "dead"}).json()["worker_id"]
    live = api.post("/register", json={"name": "live"}).json()["worker_id"]

    def last_seen():
        with app.app_context():
            return Worker.query.filter_by(id=dead).one().last_seen_at

    registered = last_seen()
    doomed = subprocess.Popen([sys.executable, "-c", CLAIM, live_hub.url(f"/api/v1/worker/{dead}/claim"), worker_token])
    wait_for(lambda: last_seen() > registered, timeout=30, message="the doomed claim to be waiting")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)

    task = caller.create_task(title="for a live worker")
    started = time.monotonic()
    claimed = api.post(f"/{live}/claim", json={"wait": 5}, timeout=30).json()["task"]
    assert claimed is not None and claimed["id"] == task["id"], caller.task(task["id"])
    assert time.monotonic() - started < 5
