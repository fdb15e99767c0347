"""An MCP tool call against the REST call it stands for, on the same hub.

    python bench/mcp_call.py [--database postgresql-URL] [--json OUT]

``tools/call find_task`` (the newest completed task) at ``/connectors/mcp``
against ``GET /api/v1/tasks?status=completed&limit=1`` (the same row, the
same auth), over 10,000 tasks. The MCP request is the one the official
``mcp`` client sends, captured once from a real session (initialize, then
the call) and replayed by wrk, so both sides are measured by the same load
generator through the same gunicorn; the REST call is the floor. That client
speaks 2026-07-28 (each call a self-contained POST): ``mcp``. The same call
in a session of the earlier era (2025-11-25: initialized once, then its
``Mcp-Session-Id`` on each call, any worker taking the session up) is
measured beside it: ``mcp_session``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.api import prepare_hub_db, seed_tasks
from bench.common import RUNS, WRK_SECONDS, free_port, gunicorn, summarize, wrk
from hub.embedded_redis import EmbeddedRedis

ENDPOINT = "/connectors/mcp"
REST = "/api/v1/tasks?status=completed&limit=1"
TOOL, ARGUMENTS = "find_task", {"status": "completed"}
SESSION_VERSION = "2025-11-25"
# Many short interleaved rounds, as bench/api.py: each round's ratio is judged.
ROUNDS = int(os.environ.get("BENCH_MCP_ROUNDS", str(2 * RUNS)))
ROUND_SECONDS = max(2, int(os.environ.get("BENCH_MCP_SECONDS", str(WRK_SECONDS // 2))))


async def captured_call(base: str, auth: str) -> tuple[dict, dict]:
    """The tools/call request the official client sends (its headers and
    JSON body), and the result it got."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    sent: list[tuple[dict, bytes]] = []

    async def keep(request) -> None:
        body = request.content
        if b'"tools/call"' in body:
            sent.append((dict(request.headers), body))

    import httpx2

    async with (
        httpx2.AsyncClient(headers={"Authorization": auth}, event_hooks={"request": [keep]}, timeout=30) as http,
        Client(streamable_http_client(base + ENDPOINT, http_client=http)) as client,
    ):
        result = await client.call_tool(TOOL, ARGUMENTS)
    headers, body = sent[-1]
    skip = {"host", "content-length", "content-type", "accept-encoding", "connection", "user-agent"}  # wrk's own
    return {k: v for k, v in headers.items() if k.lower() not in skip} | {"_body": body.decode()}, result.model_dump(
        by_alias=True, mode="json"
    )


def replay_check(base: str, request: dict) -> dict:
    """One replay of the captured request: the tool's answer, not an error
    (wrk counts only HTTP statuses)."""
    headers = {k: v for k, v in request.items() if k != "_body"} | {"content-type": "application/json"}
    response = httpx.post(base + ENDPOINT, headers=headers, content=request["_body"], timeout=30)
    response.raise_for_status()
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    answer = json.loads(text)
    if "result" not in answer or answer["result"].get("isError"):
        raise RuntimeError(f"the replayed tools/call did not answer a result: {answer}")
    return answer["result"]


def session_call(base: str, auth: str) -> dict:
    """The same tools/call in a 2025-11-25 session (opened here), as wrk
    sends it: its headers and JSON body."""
    headers = {"Authorization": auth, "Accept": "application/json, text/event-stream"}
    opening = {"protocolVersion": SESSION_VERSION, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": opening}
    answer = httpx.post(base + ENDPOINT, json=init, headers=headers, timeout=30)
    answer.raise_for_status()
    headers |= {"Mcp-Session-Id": answer.headers["Mcp-Session-Id"], "MCP-Protocol-Version": SESSION_VERSION}
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    httpx.post(base + ENDPOINT, json=done, headers=headers, timeout=30).raise_for_status()
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": TOOL, "arguments": ARGUMENTS}}
    return {k: v for k, v in headers.items() if k != "Authorization"} | {"_body": json.dumps(call)}


def run(database: str | None = None) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-mcp-"))
    redis = EmbeddedRedis(workdir / "redis", port=free_port()).start()
    db_url = database or f"sqlite:///{workdir / 'hub.db'}"
    env = {"HUB_INSTANCE_PATH": str(workdir), "DATABASE_URL": db_url, "REDIS_URL": redis.url, "SECRET_KEY": "bench"}
    results: dict = {"database": "postgresql" if database else "sqlite", "tool": TOOL, "rest": REST}
    try:
        auth = "Bearer " + prepare_hub_db(env)
        seed_tasks(db_url, ["bench"], 10_000)
        with gunicorn("hub:create_app()", {**env, "HUB_BASE_URL": "http://127.0.0.1"}, probe="/openapi.json") as hub:
            request, first = asyncio.run(captured_call(hub, auth))
            replayed = replay_check(hub, request)
            rest_task = httpx.get(hub + REST, headers={"Authorization": auth}).json()[0]
            assert replayed["structuredContent"] == first["structuredContent"], "the replay answers as the call did"
            results["same_task"] = json.dumps(rest_task, sort_keys=True) in json.dumps(replayed, sort_keys=True)
            results["mcp_request_headers"] = sorted(k for k in request if k != "_body" and k != "authorization")
            in_session = session_call(hub, auth)
            in_a_session = replay_check(hub, in_session | {"authorization": auth})
            assert in_a_session["structuredContent"] == replayed["structuredContent"], "a session's call answers so too"
            calls = {}
            for name, captured in (("mcp", request), ("mcp_session", in_session)):
                headers = {k: v for k, v in captured.items() if k not in ("_body", "authorization")}
                body = json.loads(captured["_body"])
                calls[name] = {"method": "POST", "auth": auth, "body": body, "headers": headers}
            order = (("rest", hub + REST, {"auth": auth}), *((name, hub + ENDPOINT, kw) for name, kw in calls.items()))
            for _, url, kw in order:  # warm every worker (and let each take the session up)
                with contextlib.suppress(RuntimeError):  # a stray error while warming is not a figure
                    wrk(url, seconds=2, **kw)
            samples: dict[str, list] = {name: [] for name, _, _ in order}
            for round_ in range(ROUNDS):
                turn = round_ % len(order)
                for name, url, kw in order[turn:] + order[:turn]:
                    samples[name].append(wrk(url, seconds=ROUND_SECONDS, **kw))
        rps = {name: [s["rps"] for s in runs] for name, runs in samples.items()}
        results["paired"] = {
            f"{name}_vs_rest": [m / r for m, r in zip(rps[name], rps["rest"], strict=True)] for name in calls
        }
        results["throughput"] = {
            name: {"rps": summarize(rps[name]), "p99_ms": summarize([s["p99_ms"] for s in runs])}
            for name, runs in samples.items()
        }
    finally:
        redis.stop()
    return results


def ratio(results: dict) -> float:
    return summarize(results["paired"]["mcp_vs_rest"])["median"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", help="a PostgreSQL URL; default SQLite in a temp folder")
    parser.add_argument("--json", help="write results here")
    args = parser.parse_args()
    result = run(args.database)
    for name, row in result["throughput"].items():
        print(f"{name:11} {row['rps']['median']:8.0f} req/s  p99 {row['p99_ms']['median']:7.1f} ms")
    for name, label in (("mcp", "MCP 2026-07-28"), ("mcp_session", "MCP in a session (2025-11-25)")):
        spread = summarize(result["paired"][f"{name}_vs_rest"])
        print(f"{label} / REST: {spread['median']:.0%} ({spread['min']:.0%}-{spread['max']:.0%}), target >= 50%")
    print(f"load average {os.getloadavg()[0]:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
