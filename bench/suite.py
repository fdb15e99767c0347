"""Run every benchmark, compare each figure with its floor and target, and
write docs/benchmarks.md with plots.  ``bench/run`` is the way in."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench import report  # noqa: E402
from bench.common import ROOT, free_port  # noqa: E402


def api_sqlite() -> dict:
    from bench import api

    return api.run()


def api_postgresql() -> dict:
    from bench import api
    from postgres_server import PostgresServer

    server = PostgresServer(free_port()).start()
    try:
        return api.run(*(server.url(server.create_database()) for _ in range(3)))
    finally:
        server.stop()


def limiter() -> dict:
    from bench import limiter as bench_limiter

    return bench_limiter.run()


# name -> function returning that benchmark's results (see report.py for how
# each becomes rows of the table).
BENCHMARKS = {
    "api_sqlite": api_sqlite,
    "api_postgresql": api_postgresql,
    "limiter": limiter,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    results: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        results[name] = BENCHMARKS[name]()
        print(f"   done in {time.monotonic() - started:.0f} s", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / "benchmarks.json").write_text(json.dumps(results, indent=2))
    rows = report.write(results, out)
    for row in rows:
        print(f"{row['verdict']:5} {row['what']}: {row['measured']} (target {row['target']})")
    return 0 if all(r["verdict"] != "MISS" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
