"""An agent's output -> the A2A client hears it on its ``SendStreamingMessage`` stream.

    python bench/a2a_stream.py [--database postgresql-URL] [--outputs 300] [--streams 6] [--pace 0.05] [--json OUT]

gunicorn serves the hub with the benchmarks' worker count (gthread, as
deployed), so the streams and the worker's reports land in different
processes. The official ``a2a-sdk`` client resolves the card and opens
--streams ``SendStreamingMessage`` streams, one task each, and keeps them
open; one agent worker, speaking the worker API over HTTP, claims every
task, untimed. Then it reports --outputs pieces of output (a heartbeat with
``output``, as the reference agent worker sends what its agent prints), one
every --pace seconds, turn by turn over the tasks, while the client notes
when each piece first arrives in an event on its task's stream. Measured from
just before the heartbeat is sent (the hub is another process: its commit
cannot be stamped here, so this includes the heartbeat's own round trip) to
the event's arrival at the client. Then each task completes and its stream
must end with ``completed``. Target: p99 < 250 ms.

Everything runs on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.api import claim_all, hub_with_worker
from bench.common import completion_figures, print_completions, turn_in

OUTPUTS = int(os.environ.get("BENCH_A2A_OUTPUTS", "300"))
STREAMS = int(os.environ.get("BENCH_A2A_STREAMS", "6"))
PIECE = re.compile(r"piece-(\d{6})")


async def measure(base: str, auth: str, worker_token: str, outputs: int, streams: int, pace: float) -> dict:
    from a2a.client import ClientConfig, ClientFactory
    from a2a.types import Message, Part, Role, SendMessageRequest, TaskState
    from google.protobuf import json_format

    heard: dict[int, float] = {}
    ended: dict[str, str] = {}

    async def follow(client, index: int, first: asyncio.Future) -> None:
        message = Message(role=Role.ROLE_USER, message_id=str(uuid.uuid4()), parts=[Part(text=f"bench {index}")])
        task_id = None
        async for event in client.send_message(SendMessageRequest(message=message)):
            at = time.monotonic()
            if task_id is None:
                task_id = event.task.id or event.status_update.task_id or event.artifact_update.task_id
                first.set_result(task_id)
            for piece in PIECE.findall(json_format.MessageToJson(event)):
                heard.setdefault(int(piece), at)
            if event.HasField("status_update"):
                ended[task_id] = TaskState.Name(event.status_update.status.state)
            elif event.HasField("task"):
                ended[task_id] = TaskState.Name(event.task.status.state)

    worker_headers = {"Authorization": f"Bearer {worker_token}"}
    async with (
        httpx.AsyncClient(headers={"Authorization": auth}, timeout=httpx.Timeout(30, read=600)) as http,
        httpx.AsyncClient(base_url=base + "/api/v1/worker", headers=worker_headers, timeout=30) as worker,
    ):
        client = await ClientFactory(ClientConfig(httpx_client=http, streaming=True)).create_from_url(base)
        firsts = [asyncio.get_running_loop().create_future() for _ in range(streams)]
        followers = [asyncio.create_task(follow(client, i, first)) for i, first in enumerate(firsts)]
        task_ids = await asyncio.wait_for(asyncio.gather(*firsts), 60)
        await claim_all(worker, len(task_ids))
        sent: dict[int, float] = {}
        answered: dict[int, float] = {}
        start = time.monotonic()
        for n in range(outputs):
            await asyncio.sleep(turn_in(start, n, pace))
            sent[n] = time.monotonic()
            response = await worker.post(
                f"/tasks/{task_ids[n % streams]}/heartbeat", json={"output": f"piece-{n:06d}\n"}
            )
            answered[n] = time.monotonic()
            response.raise_for_status()
        seconds = time.monotonic() - start
        deadline = time.monotonic() + 120
        while len(heard) < outputs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task_id in task_ids:
            (await worker.post(f"/tasks/{task_id}/complete", json={"result": "done"})).raise_for_status()
        await asyncio.wait_for(asyncio.gather(*followers), 120)
    missing = sorted(set(sent) - set(heard))
    if missing:
        raise RuntimeError(f"{len(missing)} pieces of output never reached a stream (first: {missing[:5]})")
    if set(ended.values()) != {"TASK_STATE_COMPLETED"}:
        raise RuntimeError(f"every stream ends with its task completed: {ended}")
    latencies = [(heard[n] - s) * 1000 for n, s in sent.items()]
    after_answer = [(heard[n] - a) * 1000 for n, a in answered.items()]
    figures = completion_figures(latencies, after_answer, len(sent), seconds, pace, achieved="reported_per_s")
    return {"outputs": len(latencies), "streams": streams, **figures}


def run(database: str | None = None, outputs: int = OUTPUTS, streams: int = STREAMS, pace: float = 0.05) -> dict:
    with hub_with_worker("bench-a2a-stream-", database) as (hub, auth, worker_token):
        result = asyncio.run(measure(hub, auth, worker_token, outputs, streams, pace))
    return {"database": "postgresql" if database else "sqlite", **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--outputs", type=int, default=OUTPUTS, help=f"pieces of output timed (default {OUTPUTS})")
    parser.add_argument(
        "--streams", type=int, default=STREAMS, help=f"streams (tasks) open at once (default {STREAMS})"
    )
    parser.add_argument("--pace", type=float, default=0.05, help="seconds between reports (default 0.05)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    r = run(args.database, args.outputs, args.streams, args.pace)
    print_completions(
        f"A2A stream ({r['database']})",
        r["outputs"],
        r,
        "heartbeat sent -> event at the client",
        "target p99 < 250 ms",
        r["p99_ms"] < 250,
        what=f"pieces of output over {r['streams']} streams",
        achieved="reported_per_s",
        request="heartbeat",
    )
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
