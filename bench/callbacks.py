"""Per-task callbacks: a task's completion -> its callback's first byte at
the receiver, on the embedded default (SQLite WAL + embedded Redis) or
PostgreSQL. Targets: p50 < 50 ms, p99 < 250 ms over 1,000 callbacks.

    python bench/callbacks.py [--database postgresql-URL] [--tasks 1000] [--pace 0.02] [--json]

--tasks tasks are created with a callback_url on the keep-alive receiver of
the webhook benchmarks (one URL each, as resume URLs are), and claimed by one
registered agent worker, untimed. Then each is completed through the worker
API (POST /api/v1/worker/tasks/<id>/complete with a worker token, through
this process's app: route, auth, schema, service), one every --pace seconds
on a fixed schedule, while one `delivery-worker` process sends the
callbacks. Measured from the completion's commit (the moment the database
answered it, before the hub's after-commit enqueue), as the webhooks row
is, to the receiver's first byte; the same from the complete's answer is
kept beside it.

Everything runs on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import completion_figures, print_completions, turn_in  # noqa: E402
from bench.webhooks import Hub, Receiver, wait_until  # noqa: E402

TASKS = int(os.environ.get("BENCH_CALLBACKS", "1000"))


class AgentWorker:
    """One registered agent worker speaking the worker API through the
    hub app's test client (so this process can stamp each commit)."""

    def __init__(self, hub: Hub):
        from hub.services import workers

        with hub.app.app_context():
            _, plain = workers.create_token("bench")
        self.http = hub.app.test_client()
        self.headers = {"Authorization": f"Bearer {plain}"}
        self.worker_id = self._post("/register", {"name": "bench"})["worker_id"]

    def _post(self, path: str, body: dict) -> dict:
        response = self.http.post("/api/v1/worker" + path, json=body, headers=self.headers)
        if response.status_code != 200:
            raise SystemExit(f"worker API {path}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        return response.get_json()

    def claim(self) -> str:
        task = self._post(f"/{self.worker_id}/claim", {"wait": 0})["task"]
        if task is None:
            raise SystemExit("no task to claim")
        return task["id"]

    def complete(self, task_id: str) -> None:
        self._post(f"/tasks/{task_id}/complete", {"result": "done"})


def create_with_callbacks(hub: Hub, receiver: Receiver, count: int) -> None:
    from hub.services import tasks

    with hub.app.app_context():
        user = hub._user()
        for i in range(count):
            tasks.create_task(user, title=f"bench {i}", prompt="p", callback_url=f"{receiver.url}/resume/{i}")


def complete_paced(worker: AgentWorker, task_ids: list[str], pace: float) -> tuple[dict, dict]:
    """Complete each task on a fixed schedule (one every ``pace`` s); returns
    event id -> commit time, and event id -> the complete's answer time."""
    from flask_sqlalchemy.session import Session
    from sqlalchemy import event as sa_event

    committed: dict[str, float] = {}
    answered: dict[str, float] = {}
    last: list[str] = []

    def stamp(session):
        now = time.time()
        for event_id in session.info.get("hub_events", []):
            committed[event_id] = now
            last.append(event_id)

    sa_event.listen(Session, "after_commit", stamp, insert=True)  # runs before the enqueue hook
    try:
        start = time.monotonic()
        for i, task_id in enumerate(task_ids):
            time.sleep(turn_in(start, i, pace))
            last.clear()
            worker.complete(task_id)
            now = time.time()
            for event_id in last:
                answered[event_id] = now
    finally:
        sa_event.remove(Session, "after_commit", stamp)
    return committed, answered


def run(database: str | None = None, tasks: int = TASKS, pace: float = 0.02) -> dict:
    # Every task is claimed before the first completes: the leases must
    # outlast the set-up and the run on a slow machine.
    os.environ.setdefault("HUB_WORKER_LEASE_SECONDS", "3600")
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        receiver = Receiver()
        hub = Hub(Path(tmp), database)
        try:
            hub.start_workers(1)
            worker = AgentWorker(hub)
            create_with_callbacks(hub, receiver, tasks + 1)
            task_ids = [worker.claim() for _ in range(tasks + 1)]
            # One callback through first, so the delivery worker is up and
            # the events of the set-up are dispatched before timing.
            worker.complete(task_ids.pop(0))
            wait_until(lambda: receiver.count() >= 1, 60, "the warm-up callback")
            receiver.reset()
            started = time.monotonic()
            committed, answered = complete_paced(worker, task_ids, pace)
            seconds = time.monotonic() - started
            wait_until(lambda: receiver.count() >= tasks, 120, "every callback")
            arrived = dict(receiver.dump())
            rss = hub.worker_rss_mb()
        finally:
            hub.stop()
            receiver.stop()
    latencies = [(arrived[e] - t) * 1000 for e, t in committed.items() if e in arrived]
    from_answer = [(arrived[e] - t) * 1000 for e, t in answered.items() if e in arrived]
    return {
        "database": "postgresql" if database else "sqlite",
        "callbacks": len(latencies),
        **completion_figures(latencies, from_answer, len(committed), seconds, pace),
        "latencies_ms": [round(v, 2) for v in latencies],
        "worker_rss_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--tasks", type=int, default=TASKS, help=f"callbacks timed (default {TASKS})")
    parser.add_argument(
        "--pace", type=float, default=0.02, help="seconds between completions (default 0.02: 50 a second)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    r = run(args.database, args.tasks, args.pace)
    if args.json:
        print(json.dumps(r))
        return
    print_completions(
        f"Per-task callbacks ({r['database']} + embedded Redis, loopback receiver)",
        r["callbacks"],
        r,
        "completion commit -> callback's first byte",
        "targets p50 < 50 ms, p99 < 250 ms",
        r["p50_ms"] < 50 and r["p99_ms"] < 250,
    )


if __name__ == "__main__":
    main()
