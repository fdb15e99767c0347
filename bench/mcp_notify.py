"""A task's completion -> the MCP client hears ``notifications/tasks/status``.

    python bench/mcp_notify.py [--database postgresql-URL] [--tasks 300] [--pace 0.05] [--json OUT]

gunicorn serves the hub with the benchmarks' worker count, so a session's
calls and its GET stream land in different processes, as in production
(``connectors/mcp/sessions.py``, ``connectors/mcp/watch.py``). The official
``mcp`` client opens a session and creates --tasks
tasks as MCP tasks (task-augmented ``create_task``), so its session follows
each; one agent worker, speaking the worker API over HTTP, claims them all,
untimed. Then it completes them (``POST /api/v1/worker/tasks/<id>/complete``)
one every --pace seconds, while the client collects the ``completed`` status
notifications on its session's stream. Measured from just before the
complete is sent (the hub is another process: its commit cannot be stamped
here, so this includes the complete's own round trip) to the notification's
arrival at the client. Target: p99 < 250 ms.

Everything runs on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.api import cli, prepare_hub_db
from bench.common import free_port, gunicorn, percentile
from hub.embedded_redis import EmbeddedRedis

ENDPOINT = "/connectors/mcp"
TASKS = int(os.environ.get("BENCH_MCP_NOTIFY_TASKS", "300"))


async def measure(base: str, auth: str, worker_token: str, tasks: int, pace: float) -> dict:
    import httpx2
    import mcp_types as types
    from mcp.client.extension import NotificationBinding
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    heard: dict[str, float] = {}
    every = asyncio.Event()

    async def on_status(params: types.TaskStatusNotificationParams) -> None:
        if params.status == "completed" and params.task_id not in heard:
            heard[params.task_id] = time.monotonic()
            if len(heard) >= tasks:
                every.set()

    binding = NotificationBinding(
        method="notifications/tasks/status", params_type=types.TaskStatusNotificationParams, handler=on_status
    )
    worker_headers = {"Authorization": f"Bearer {worker_token}"}
    async with (
        httpx2.AsyncClient(headers={"Authorization": auth}, timeout=httpx2.Timeout(30, read=600)) as http,
        httpx2.AsyncClient(base_url=base + "/api/v1/worker", headers=worker_headers, timeout=30) as worker,
        streamable_http_client(base + ENDPOINT, http_client=http) as (read, write),
        ClientSession(read, write, notification_bindings=[binding]) as session,
    ):
        await session.initialize()
        task_ids = []
        for i in range(tasks):
            request = types.CallToolRequest(
                params=types.CallToolRequestParams(
                    name="create_task", arguments={"title": f"bench {i}", "prompt": "p"}, task=types.TaskMetadata()
                )
            )
            task_ids.append((await session.send_request(request, types.CreateTaskResult)).task.task_id)
        worker_id = (await worker.post("/register", json={"name": "bench"})).json()["worker_id"]
        for _ in task_ids:
            claimed = (await worker.post(f"/{worker_id}/claim", json={"wait": 0})).json()["task"]
            assert claimed is not None, "every task is claimed before timing"
        sent: dict[str, float] = {}
        answered: dict[str, float] = {}
        start = time.monotonic()
        for i, task_id in enumerate(task_ids):
            delay = start + i * pace - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[task_id] = time.monotonic()
            response = await worker.post(f"/tasks/{task_id}/complete", json={"result": "done"})
            answered[task_id] = time.monotonic()
            response.raise_for_status()
        seconds = time.monotonic() - start
        await asyncio.wait_for(every.wait(), 120)
    latencies = [(heard[t] - s) * 1000 for t, s in sent.items()]
    after_answer = [(heard[t] - a) * 1000 for t, a in answered.items()]
    return {
        "notifications": len(latencies),
        "per_s": round(1 / pace),
        "completed_per_s": round(len(sent) / seconds, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        # The notification may arrive before the complete's answer is back: negative.
        "after_answer_p50_ms": round(percentile(after_answer, 50), 1),
        "after_answer_p99_ms": round(percentile(after_answer, 99), 1),
    }


def run(database: str | None = None, tasks: int = TASKS, pace: float = 0.05) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-mcp-notify-"))
    redis = EmbeddedRedis(workdir / "redis", port=free_port()).start()
    db_url = database or f"sqlite:///{workdir / 'hub.db'}"
    env = {
        "HUB_INSTANCE_PATH": str(workdir),
        "DATABASE_URL": db_url,
        "REDIS_URL": redis.url,
        "SECRET_KEY": "bench",
        "HUB_WORKER_LEASE_SECONDS": "3600",  # every task is claimed before the first completes
    }
    try:
        auth = "Bearer " + prepare_hub_db(env)
        worker_token = cli(env, "worker-tokens", "create", "bench", "--json")["token"]
        with gunicorn("hub:create_app()", {**env, "HUB_BASE_URL": "http://127.0.0.1"}, probe="/openapi.json") as hub:
            result = asyncio.run(measure(hub, auth, worker_token, tasks, pace))
    finally:
        redis.stop()
    return {"database": "postgresql" if database else "sqlite", **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--tasks", type=int, default=TASKS, help=f"completions timed (default {TASKS})")
    parser.add_argument("--pace", type=float, default=0.05, help="seconds between completions (default 0.05)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    r = run(args.database, args.tasks, args.pace)
    met = r["p99_ms"] < 250
    print(
        f"\nMCP task status notifications ({r['database']}): {r['notifications']} completions at {r['per_s']}/s "
        f"(achieved {r['completed_per_s']}/s)"
    )
    print(
        f"  complete sent -> notification at the client: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms "
        f"(max {r['max_ms']} ms)   target p99 < 250 ms: {'met' if met else 'MISSED'}"
    )
    print(f"  from the complete's answer: p50 {r['after_answer_p50_ms']} ms, p99 {r['after_answer_p99_ms']} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
