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
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.api import claim_all, hub_with_worker
from bench.common import completion_figures, print_completions, turn_in

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
        await claim_all(worker, len(task_ids))
        sent: dict[str, float] = {}
        answered: dict[str, float] = {}
        start = time.monotonic()
        for i, task_id in enumerate(task_ids):
            await asyncio.sleep(turn_in(start, i, pace))
            sent[task_id] = time.monotonic()
            response = await worker.post(f"/tasks/{task_id}/complete", json={"result": "done"})
            answered[task_id] = time.monotonic()
            response.raise_for_status()
        seconds = time.monotonic() - start
        await asyncio.wait_for(every.wait(), 120)
    latencies = [(heard[t] - s) * 1000 for t, s in sent.items()]
    after_answer = [(heard[t] - a) * 1000 for t, a in answered.items()]
    return {"notifications": len(latencies), **completion_figures(latencies, after_answer, len(sent), seconds, pace)}


def run(database: str | None = None, tasks: int = TASKS, pace: float = 0.05) -> dict:
    with hub_with_worker("bench-mcp-notify-", database) as (hub, auth, worker_token):
        result = asyncio.run(measure(hub, auth, worker_token, tasks, pace))
    return {"database": "postgresql" if database else "sqlite", **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--tasks", type=int, default=TASKS, help=f"completions timed (default {TASKS})")
    parser.add_argument("--pace", type=float, default=0.05, help="seconds between completions (default 0.05)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    r = run(args.database, args.tasks, args.pace)
    print_completions(
        f"MCP task status notifications ({r['database']})",
        r["notifications"],
        r,
        "complete sent -> notification at the client",
        "target p99 < 250 ms",
        r["p99_ms"] < 250,
    )
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
