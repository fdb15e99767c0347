"""Run every benchmark, compare each figure with its floor and target, and
write docs/benchmarks.md with plots.  ``bench/run`` is the way in."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # support.*, as the tests import it

from bench import report
from bench.common import PY, ROOT, free_port


@contextmanager
def postgresql():
    """A throwaway PostgreSQL cluster on loopback; yields a database URL maker."""
    from support.postgres_server import PostgresServer

    server = PostgresServer(free_port()).start()
    try:
        yield lambda: server.url(server.create_database())
    finally:
        server.stop()


def api_sqlite() -> dict:
    from bench import api

    return api.run()


def api_postgresql() -> dict:
    from support.postgres_server import PostgresServer

    from bench import api

    server = PostgresServer(free_port()).start()
    try:
        return api.run(*(server.url(server.create_database()) for _ in range(3)))
    finally:
        server.stop()


def limiter() -> dict:
    from bench import limiter as bench_limiter

    return bench_limiter.run()


def webhooks_sqlite() -> dict:
    from bench import webhooks

    return webhooks.run()


def webhooks_postgresql() -> dict:
    from bench import webhooks

    with postgresql() as database:
        return webhooks.run(database())


def callbacks_sqlite() -> dict:
    from bench import callbacks

    return callbacks.run()


def callbacks_postgresql() -> dict:
    from bench import callbacks

    with postgresql() as database:
        return callbacks.run(database())


def isolation() -> dict:
    from bench import isolation as bench_isolation

    return bench_isolation.run()


def claim_sqlite() -> dict:
    from bench import claim_latency

    return claim_latency.run(claim_latency.TASKS, None)


def claim_postgresql() -> dict:
    from bench import claim_latency

    with postgresql() as database:
        return claim_latency.run(claim_latency.TASKS, database())


def mcp_call() -> dict:
    from bench import mcp_call as bench_mcp_call

    return bench_mcp_call.run()


def mcp_notify() -> dict:
    from bench import mcp_notify as bench_mcp_notify

    return bench_mcp_notify.run()


def memory_sqlite() -> dict:
    from bench import memory

    return memory.run()


def memory_postgresql() -> dict:
    from bench import memory

    with postgresql() as database:
        return memory.run(database())


# name -> function returning that benchmark's results (see report.py for how
# each becomes rows of the table).
BENCHMARKS = {
    "api_sqlite": api_sqlite,
    "api_postgresql": api_postgresql,
    "limiter": limiter,
    "webhooks_sqlite": webhooks_sqlite,
    "webhooks_postgresql": webhooks_postgresql,
    "callbacks_sqlite": callbacks_sqlite,
    "callbacks_postgresql": callbacks_postgresql,
    "isolation": isolation,
    "claim_sqlite": claim_sqlite,
    "claim_postgresql": claim_postgresql,
    "mcp_call": mcp_call,
    "mcp_notify": mcp_notify,
    "memory_sqlite": memory_sqlite,
    "memory_postgresql": memory_postgresql,
}


def run_isolated(name: str) -> dict:
    """One benchmark in a process of its own: benchmarks set environment
    variables and build apps in-process, which must not leak into the next."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = Path(out.name)
    try:
        subprocess.run([PY, __file__, "--child", name, "--child-out", str(path)], cwd=ROOT, check=True)
        return json.loads(path.read_text())
    finally:
        path.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        Path(args.child_out).write_text(json.dumps(BENCHMARKS[args.child]()))
        return 0
    chosen = [name.strip() for name in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    results: dict = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "seconds": {},
    }
    suite_started = time.monotonic()
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        results[name] = run_isolated(name)
        results["seconds"][name] = round(time.monotonic() - started)
        print(f"   done in {results['seconds'][name]} s", flush=True)
    results["seconds"]["total"] = round(time.monotonic() - suite_started)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / "benchmarks.json").write_text(json.dumps(results, indent=2))
    rows = report.write(results, out)
    for row in rows:
        print(f"{row['verdict']:5} {row['what']}: {row['measured']} (target {row['target']})")
    return 0 if all(r["verdict"] != "MISS" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
