"""An A2A ``SendMessage`` (non-blocking) against the REST create it stands for.

    python bench/a2a_send.py [--database postgresql-URL] [--json OUT]

``SendMessage`` with ``returnImmediately`` at ``/connectors/a2a`` (a new task,
answered as submitted) against ``POST /api/v1/tasks`` (the same auth, the
same task row, outbox and enqueue) on the same hub. The A2A request is the
one the official ``a2a-sdk`` client sends (card resolved, client built from
it), captured once and replayed by wrk, so both sides are measured by the
same load generator through the same gunicorn; the REST create is the floor.
Target: >= 60% of the REST create's requests/s. For scale, not judged:
``POST /api/v1/messages`` (a message starting a conversation, with its task:
what a SendMessage does in the hub), in the same rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.api import prepare_hub_db
from bench.common import RUNS, WRK_SECONDS, free_port, gunicorn, summarize, wrk
from hub.embedded_redis import EmbeddedRedis

ENDPOINT = "/connectors/a2a"
REST = "/api/v1/tasks"
TEXT = "Do the thing"
REST_BODY = {"title": "Bench", "prompt": TEXT}
MESSAGES = "/api/v1/messages"
# Many short interleaved rounds, as bench/api.py: each round's ratio is judged.
ROUNDS = int(os.environ.get("BENCH_A2A_ROUNDS", str(2 * RUNS)))
ROUND_SECONDS = max(2, int(os.environ.get("BENCH_A2A_SECONDS", str(WRK_SECONDS // 2))))
SKIP_HEADERS = {"host", "content-length", "content-type", "accept-encoding", "connection", "user-agent"}  # wrk's own


async def captured_send(base: str, auth: str) -> tuple[dict, dict]:
    """The SendMessage request the official client sends (its headers and
    JSON body), and the task it got back."""
    from a2a.client import ClientConfig, ClientFactory
    from a2a.types import Message, Part, Role, SendMessageRequest
    from google.protobuf import json_format

    sent: list[tuple[dict, bytes]] = []

    async def keep(request: httpx.Request) -> None:
        if b'"SendMessage"' in request.content:
            sent.append((dict(request.headers), request.content))

    async with httpx.AsyncClient(headers={"Authorization": auth}, event_hooks={"request": [keep]}, timeout=30) as http:
        client = await ClientFactory(ClientConfig(httpx_client=http, streaming=False, polling=True)).create_from_url(
            base
        )
        message = Message(role=Role.ROLE_USER, message_id=str(uuid.uuid4()), parts=[Part(text=TEXT)])
        answers = [event async for event in client.send_message(SendMessageRequest(message=message))]
    headers, body = sent[-1]
    request = {k: v for k, v in headers.items() if k.lower() not in SKIP_HEADERS} | {"_body": body.decode()}
    return request, json_format.MessageToDict(answers[-1])


def replay_check(base: str, request: dict) -> dict:
    """One replay of the captured request: a new submitted task, not a JSON-RPC
    error (wrk counts only HTTP statuses)."""
    headers = {k: v for k, v in request.items() if k != "_body"} | {"content-type": "application/json"}
    response = httpx.post(base + ENDPOINT, headers=headers, content=request["_body"], timeout=30)
    response.raise_for_status()
    answer = response.json()
    task = answer.get("result", {}).get("task")
    if not task or task["status"]["state"] != "TASK_STATE_SUBMITTED":
        raise RuntimeError(f"the replayed SendMessage did not answer a submitted task: {answer}")
    return task


def run(database: str | None = None) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-a2a-send-"))
    redis = EmbeddedRedis(workdir / "redis", port=free_port()).start()
    db_url = database or f"sqlite:///{workdir / 'hub.db'}"
    env = {"HUB_INSTANCE_PATH": str(workdir), "DATABASE_URL": db_url, "REDIS_URL": redis.url, "SECRET_KEY": "bench"}
    results: dict = {"database": "postgresql" if database else "sqlite", "rest": f"POST {REST}"}
    try:
        auth = "Bearer " + prepare_hub_db(env)
        port = free_port()  # the card names the hub's URL: its client connects there
        hub_env = {**env, "HUB_BASE_URL": f"http://127.0.0.1:{port}"}
        with gunicorn("hub:create_app()", hub_env, probe="/readyz", port=port) as hub:
            request, first = asyncio.run(captured_send(hub, auth))
            first_task = first["task"]
            replayed = replay_check(hub, request)
            results["new_task_per_request"] = replayed["id"] != first_task["id"]
            rest_task = httpx.get(hub + f"{REST}/{replayed['id']}", headers={"Authorization": auth}).json()
            results["same_task_row"] = rest_task["status"] == "pending" and rest_task["prompt"] == TEXT
            results["a2a_request_headers"] = sorted(k for k in request if k not in ("_body", "authorization"))
            a2a = {
                "method": "POST",
                "auth": auth,
                "body": json.loads(request["_body"]),
                "headers": {k: v for k, v in request.items() if k not in ("_body", "authorization")},
            }
            rest = {"method": "POST", "auth": auth, "body": REST_BODY}
            message = {"method": "POST", "auth": auth, "body": {"message": TEXT}}
            order = (("rest", hub + REST, rest), ("a2a", hub + ENDPOINT, a2a), ("message", hub + MESSAGES, message))
            for _name, url, kw in order:  # warm every worker
                wrk(url, seconds=2, **kw)
            samples: dict[str, list] = {name: [] for name, _url, _kw in order}
            for round_ in range(ROUNDS):
                turn = round_ % len(order)
                for name, url, kw in order[turn:] + order[:turn]:
                    samples[name].append(wrk(url, seconds=ROUND_SECONDS, **kw))
        rps = {name: [s["rps"] for s in runs] for name, runs in samples.items()}
        results["paired"] = {
            f"{a}_vs_{b}": [x / y for x, y in zip(rps[a], rps[b], strict=True)]
            for a, b in (("a2a", "rest"), ("message", "rest"), ("a2a", "message"))
        }
        results["throughput"] = {
            name: {"rps": summarize(rps[name]), "p99_ms": summarize([s["p99_ms"] for s in runs])}
            for name, runs in samples.items()
        }
    finally:
        redis.stop()
    return results


def ratio(results: dict) -> float:
    return summarize(results["paired"]["a2a_vs_rest"])["median"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL URL; default SQLite in a temp folder")
    parser.add_argument("--json", help="write results here")
    args = parser.parse_args()
    result = run(args.database)
    for name, row in result["throughput"].items():
        print(f"{name:7} {row['rps']['median']:8.0f} req/s  p99 {row['p99_ms']['median']:7.1f} ms")
    spread = summarize(result["paired"]["a2a_vs_rest"])
    print(
        f"SendMessage / POST /api/v1/tasks: {spread['median']:.0%} "
        f"({spread['min']:.0%}-{spread['max']:.0%}), target >= 60%"
    )
    for name in ("message_vs_rest", "a2a_vs_message"):
        spread = summarize(result["paired"][name])
        print(f"  {name}: {spread['median']:.0%} ({spread['min']:.0%}-{spread['max']:.0%}), for scale")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
