"""In-process CPU per request of the MCP tool call and its REST call: the
quick look at one request path the README's Profiling section describes.

    python bench/mcp_cpu.py [--requests 300] [--rounds 4] [--calls] [--spy OUT]

The hub app in this process, through ``app.test_client()`` (every thread of
the process counted: the request's, the endpoint's event loop, any worker
thread), on SQLite with 10,000 tasks, for ``GET /api/v1/tasks?status=
completed&limit=1`` and ``tools/call find_task`` as the official client
sends it in both MCP eras: 2026-07-28 (a self-contained POST) and a session
(2025-11-25: ``Mcp-Session-Id``, initialized first). The variants run
interleaved, the best round of each kept (the machine is shared). ``--calls``
counts Python function calls per request on every thread (the load does not
move them); ``--spy OUT`` records py-spy's collapsed stacks of the MCP loop.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.api import prepare_hub_db, seed_tasks
from bench.common import free_port
from hub.embedded_redis import EmbeddedRedis

ENDPOINT = "/connectors/mcp"
REST = "/api/v1/tasks?status=completed&limit=1"
SESSION_VERSION, MODERN_VERSION = "2025-11-25", "2026-07-28"
CLIENT = {"name": "bench", "version": "1"}


def modern_call() -> tuple[dict[str, str], dict]:
    """The 2026-07-28 tools/call as the official client sends it (no session)."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": CLIENT,
    }
    params = {"name": "find_task", "arguments": {"status": "completed"}, "_meta": meta}
    headers = {"MCP-Protocol-Version": MODERN_VERSION, "Mcp-Method": "tools/call", "Mcp-Name": "find_task"}
    return headers, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--calls", action="store_true", help="count function calls per request")
    parser.add_argument("--spy", help="py-spy collapsed stacks of the MCP calls to this file")
    parser.add_argument("--profile", help="cProfile statistics of each variant (every thread) to OUT.<variant>")
    parser.add_argument("--only", default="rest,modern,session")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-mcp-cpu-"))
    redis = EmbeddedRedis(workdir / "redis", port=free_port()).start()
    db_url = f"sqlite:///{workdir / 'hub.db'}"
    env = {"HUB_INSTANCE_PATH": str(workdir), "DATABASE_URL": db_url, "REDIS_URL": redis.url, "SECRET_KEY": "bench"}
    try:
        auth = {"Authorization": "Bearer " + prepare_hub_db(env)}
        seed_tasks(db_url, ["bench"], 10_000)
        os.environ.update(env | {"HUB_BASE_URL": "http://127.0.0.1"})
        from hub import create_app

        client = create_app().test_client()
        accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        headers, message = modern_call()
        modern_body = json.dumps(message)

        opening = {"protocolVersion": SESSION_VERSION, "capabilities": {}, "clientInfo": CLIENT}
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": opening}
        answer = client.post(ENDPOINT, data=json.dumps(init), headers=auth | accept)
        assert b"protocolVersion" in answer.data  # read to its end: a response closed early is cancelled
        session = {"Mcp-Session-Id": answer.headers["Mcp-Session-Id"], "MCP-Protocol-Version": SESSION_VERSION}
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert client.post(ENDPOINT, data=json.dumps(done), headers=auth | accept | session).status_code == 202
        session_body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": message["params"]})

        def rest() -> bytes:
            return client.get(REST, headers=auth).data

        def modern() -> bytes:
            return client.post(ENDPOINT, data=modern_body, headers=auth | accept | headers).data

        def in_session() -> bytes:
            return client.post(ENDPOINT, data=session_body, headers=auth | accept | session).data

        variants = {"rest": rest, "modern": modern, "session": in_session}
        variants = {name: variants[name] for name in args.only.split(",")}
        for name, fn in variants.items():
            answer = fn()
            assert b'"isError":true' not in answer and b"completed" in answer, (name, answer[:300])
            for _ in range(50):
                fn()

        if args.calls:
            for name, fn in variants.items():
                print(f"{name:8} {count_calls(fn, 50):8.0f} function calls per request")
        if args.profile:
            for name, fn in variants.items():
                profile(fn, args.requests, f"{args.profile}.{name}")
        if args.spy:
            spy(variants.get("modern", modern), args.spy, args.requests * 4)
        loops = [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]

        def loop_cpu() -> float:  # the endpoint's event loop thread's CPU time so far
            return sum(asyncio.run_coroutine_threadsafe(_thread_time(), loop).result(10) for loop in loops)

        best: dict[str, tuple[float, float, float]] = {}
        for _round in range(args.rounds):
            for name, fn in variants.items():
                started, mine, on_loop = time.process_time(), time.thread_time(), loop_cpu()
                for _ in range(args.requests):
                    fn()
                per = [(time.process_time() - started), time.thread_time() - mine, loop_cpu() - on_loop]
                per = tuple(t / args.requests * 1000 for t in per)
                best[name] = min(best.get(name, per), per)
        load = os.getloadavg()[0]
        for name, (ms, mine, on_loop) in best.items():
            ratio = f"  REST/this {best['rest'][0] / ms:.0%}" if "rest" in best and name != "rest" else ""
            print(
                f"{name:8} {ms:6.2f} ms CPU per request (request's thread {mine:.2f}, event loop {on_loop:.2f}; "
                f"best of {args.rounds} x {args.requests}){ratio}"
            )
        print(f"load {load:.1f}")
    finally:
        redis.stop()


def count_calls(fn, times: int) -> float:
    calls = 0

    def hook(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    # This thread, the endpoints' event loops and threads started meanwhile (Python 3.11 has no
    # setprofile_all_threads): an executor's threads already running are not counted.
    loops = [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]
    on_loops = [threading.Event() for _ in loops]
    for loop, done in zip(loops, on_loops, strict=True):
        loop.call_soon_threadsafe(lambda done=done: (sys.setprofile(hook), done.set()))
    for done in on_loops:
        done.wait(10)
    threading.setprofile(hook)
    sys.setprofile(hook)
    try:
        for _ in range(times):
            fn()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
        for loop in loops:
            loop.call_soon_threadsafe(sys.setprofile, None)
    return calls / times


def profile(fn, times: int, out: str) -> None:
    """cProfile on this thread and on the endpoints' event loops (each its own, merged)."""
    import cProfile
    import pstats

    loops = [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]
    profilers = [cProfile.Profile(time.thread_time) for _ in loops]
    for loop, profiler in zip(loops, profilers, strict=True):
        asyncio.run_coroutine_threadsafe(_enable(profiler), loop).result(10)
    mine = cProfile.Profile(time.thread_time)
    mine.enable()
    for _ in range(times):
        fn()
    mine.disable()
    for loop, profiler in zip(loops, profilers, strict=True):
        loop.call_soon_threadsafe(profiler.disable)
    time.sleep(0.5)
    stats = pstats.Stats(mine)
    for profiler in profilers:
        stats.add(profiler)
    stats.dump_stats(out)


async def _thread_time() -> float:
    return time.thread_time()


async def _enable(profiler) -> None:
    profiler.enable()


def spy(fn, out: str, times: int) -> None:
    py_spy = str(Path(sys.executable).parent / "py-spy")
    options = ["-r", "400", "-f", "raw", "-o", out, "--threads", "--nonblocking"]
    recorder = subprocess.Popen([py_spy, "record", "--pid", str(os.getpid()), *options])
    time.sleep(1)  # py-spy attaches
    for _ in range(times):
        fn()
    recorder.send_signal(2)
    recorder.wait(30)


if __name__ == "__main__":
    main()
