"""REST API throughput against its floors, and list latency as the table grows.

python bench/api.py [--database sqlite|postgresql-URL] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    PY,
    ROOT,
    RUNS,
    WRK_SECONDS,
    free_port,
    gunicorn,
    summarize,
    wrk,
)
from hub.embedded_redis import EmbeddedRedis


def cli(env, *args) -> dict:
    out = subprocess.run(
        [PY, "-m", "hub", *args], env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1]) if "--json" in args else {}


def seed_tasks(url: str, owners: list[str], count: int, new_users: bool = False) -> None:
    """Insert ``count`` completed tasks for each owner (creating the owners
    when ``new_users``) with one INSERT ... SELECT per owner."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for owner in owners:
            if new_users:
                conn.execute(
                    sa.text(
                        "INSERT INTO users (username, tier, is_admin, created_at) "
                        "VALUES (:u, 'enterprise', false, CURRENT_TIMESTAMP)"
                    ),
                    {"u": owner},
                )
                pk = conn.execute(sa.text("SELECT pk FROM users WHERE username=:u"), {"u": owner}).scalar()
                conn.execute(
                    sa.text(
                        "INSERT INTO codebases (id, user_pk, name, created_at) "
                        "VALUES ('global', :p, 'Global', CURRENT_TIMESTAMP)"
                    ),
                    {"p": pk},
                )
            user_pk = conn.execute(sa.text("SELECT pk FROM users WHERE username=:u"), {"u": owner}).scalar()
            cb_pk = conn.execute(
                sa.text("SELECT pk FROM codebases WHERE user_pk=:p AND id='global'"), {"p": user_pk}
            ).scalar()
            series = (
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM s WHERE n < :count) "
                if url.startswith("sqlite")
                else ""
            )
            source = "s" if url.startswith("sqlite") else "generate_series(1, :count) AS s(n)"
            conn.execute(
                sa.text(
                    series
                    + "INSERT INTO tasks (id, user_pk, codebase_pk, title, prompt, status, agent_type, priority, "
                    "retry_count, max_retries, created_at, updated_at, started_at, completed_at, duration_seconds, "
                    "result) "
                    f"SELECT 'task_seed_' || :owner || '_' || n, :user_pk, :cb_pk, 'Seeded ' || n, 'p', 'completed', "
                    "'build', 0, 0, 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                    "1.0, 'ok' "
                    f"FROM {source}"
                ),
                {"count": count, "owner": owner, "user_pk": user_pk, "cb_pk": cb_pk},
            )
        if url.startswith("sqlite"):
            conn.execute(sa.text("ANALYZE"))
    if url.startswith("postgresql"):
        # Settle the bulk load now: left alone, autovacuum would vacuum the
        # new rows and the checkpointer write them out during the rounds.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE tasks")
            conn.exec_driver_sql("CHECKPOINT")
    else:
        # A bulk load leaves a huge WAL that every reader must search; the
        # hub's own commits are small and checkpoint as they go.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


LOAD_STEPS = (1, 2, 4, 8, 16, 32)
POLL = "/api/v1/tasks?status=completed&limit=3"  # what a Zapier trigger polls
# Many short rounds rather than a few long ones (as bench/limiter.py).
ROUNDS = int(os.environ.get("BENCH_API_ROUNDS", str(2 * RUNS)))
ROUND_SECONDS = max(2, int(os.environ.get("BENCH_API_SECONDS", str(WRK_SECONDS // 2))))


def prepare_hub_db(env: dict) -> str:
    """Migrate an empty database, add the bench user; return its API key."""
    subprocess.run(
        [PY, "-m", "hub", "db", "upgrade"], env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True
    )
    cli(env, "users", "create", "bench", "--tier", "enterprise", "--json")
    return cli(env, "api-keys", "create", "bench", "--json")["key"]


@contextmanager
def hub_with_worker(prefix: str, database: str | None = None) -> Iterator[tuple[str, str, str]]:
    """A hub under gunicorn on a fresh database (PostgreSQL ``database`` or
    SQLite in a temporary folder), as the paced worker benchmarks use it:
    yields its base URL, the bench user's Authorization and a worker token.
    HUB_BASE_URL is its own address (an agent card names it); the lease
    outlasts the run, since every task is claimed before timing."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    redis = EmbeddedRedis(workdir / "redis", port=free_port()).start()
    port = free_port()
    env = {
        "HUB_INSTANCE_PATH": str(workdir),
        "DATABASE_URL": database or f"sqlite:///{workdir / 'hub.db'}",
        "REDIS_URL": redis.url,
        "SECRET_KEY": "bench",
        "HUB_WORKER_LEASE_SECONDS": "3600",
        "HUB_BASE_URL": f"http://127.0.0.1:{port}",
    }
    try:
        auth = "Bearer " + prepare_hub_db(env)
        worker_token = cli(env, "worker-tokens", "create", "bench", "--json")["token"]
        with gunicorn("hub:create_app()", env, probe="/readyz", port=port) as hub:
            yield hub, auth, worker_token
    finally:
        redis.stop()


async def claim_all(worker, count: int) -> None:
    """One agent worker (``worker``: an httpx.AsyncClient on the worker API)
    claims ``count`` pending tasks, untimed."""
    worker_id = (await worker.post("/register", json={"name": "bench"})).json()["worker_id"]
    for _ in range(count):
        claimed = (await worker.post(f"/{worker_id}/claim", json={"wait": 0})).json()["task"]
        assert claimed is not None, "every task is claimed before timing"


def run(database: str | None = None, floor_database: str | None = None, big_database: str | None = None) -> dict:
    """PostgreSQL URLs for the hub, the floor app and the 1M-row copy; by
    default SQLite files in a temp folder."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    redis = EmbeddedRedis(workdir / "redis", port=free_port()).start()
    db_url = database or f"sqlite:///{workdir / 'hub.db'}"
    big_url = big_database or f"sqlite:///{workdir / 'hub-1m.db'}"
    floor_url = floor_database or f"sqlite:///{workdir / 'floor.db'}"
    env = {
        "HUB_INSTANCE_PATH": str(workdir),
        "DATABASE_URL": db_url,
        "REDIS_URL": redis.url,
        "SECRET_KEY": "bench",
        "BENCH_FLOOR_DB": floor_url,
    }
    big_env = {**env, "DATABASE_URL": big_url}
    results: dict = {"database": "postgresql" if database else "sqlite"}
    try:
        auth = "Bearer " + prepare_hub_db(env)
        big_auth = "Bearer " + prepare_hub_db(big_env)
        # Same user data in both; the big table holds 99 more users' tasks.
        seed_tasks(db_url, ["bench"], 10_000)
        seed_tasks(big_url, ["bench"], 10_000)
        seed_tasks(big_url, [f"other-{i}" for i in range(99)], 10_000, new_users=True)
        from bench.floors import create_tables

        create_tables(floor_url)
        with (
            gunicorn("bench.floors:app", env) as floor,
            gunicorn("hub:create_app()", env, probe="/openapi.json") as hub,
            gunicorn("hub:create_app()", big_env, probe="/openapi.json") as big,
        ):
            import httpx

            task_id = httpx.post(
                hub + "/api/v1/tasks", json={"title": "t", "prompt": "p"}, headers={"Authorization": auth}
            ).json()["task_id"]
            # Every worker's first queries pay for connections and compiled
            # statements; pay it before measuring.
            for base, a in ((hub, auth), (big, big_auth)):
                wrk(base + POLL, auth=a, seconds=3)
            wrk(floor + "/select", seconds=2)
            samples: dict[str, list] = {}
            reads = (
                ("floor_select", floor + "/select", {}),
                ("get_task", hub + f"/api/v1/tasks/{task_id}", {"auth": auth}),
                ("list_tasks", hub + POLL, {"auth": auth}),
            )
            writes = (
                ("floor_insert", floor + "/insert", {"method": "POST"}),
                (
                    "create_task",
                    hub + "/api/v1/tasks",
                    {"method": "POST", "auth": auth, "body": {"title": "Bench", "prompt": "Do the thing"}},
                ),
            )
            # Rounds of interleaved runs in a rotating order, reads before
            # writes (a burst of inserts slows the next few seconds of reads,
            # a cost that belongs to neither side). Each round's own hub/floor
            # ratio is kept: the verdict is their median, so load from
            # elsewhere on the machine moves both sides of a ratio alike.
            for round_ in range(ROUNDS):
                for group in (reads, writes):
                    turn = round_ % len(group)
                    for name, url, kw in group[turn:] + group[:turn]:
                        samples.setdefault(name, []).append(wrk(url, seconds=ROUND_SECONDS, **kw))
                samples.setdefault("hello", []).append(wrk(floor + "/hello", seconds=ROUND_SECONDS))
                # Latency at the workers' own concurrency, where p99 shows
                # the query's cost rather than queueing.
                samples.setdefault("list_10k_c4", []).append(
                    wrk(hub + POLL, auth=auth, connections=4, seconds=ROUND_SECONDS)
                )
                samples.setdefault("list_1m_c4", []).append(
                    wrk(big + POLL, auth=big_auth, connections=4, seconds=ROUND_SECONDS)
                )
            rps = {name: [s["rps"] for s in runs] for name, runs in samples.items()}
            results["paired"] = {
                ratio: [h / f for h, f in zip(rps[hub_name], rps[floor_name], strict=True)]
                for ratio, hub_name, floor_name in (
                    ("create_vs_insert", "create_task", "floor_insert"),
                    ("get_vs_select", "get_task", "floor_select"),
                    ("list_vs_select", "list_tasks", "floor_select"),
                )
            }
            results["throughput"] = {
                name: {
                    "rps": summarize([s["rps"] for s in runs]),
                    "p99_ms": summarize([s["p99_ms"] for s in runs]),
                    "errors": sum(s["non_2xx"] + s["socket_errors"] for s in runs),
                }
                for name, runs in samples.items()
                if not name.endswith("_c4")
            }
            results["list_p99_10k_ms"] = summarize([s["p99_ms"] for s in samples["list_10k_c4"]])
            results["list_p99_1m_ms"] = summarize([s["p99_ms"] for s in samples["list_1m_c4"]])
            # Cost against load: the Zapier poll and its floor at rising concurrency.
            results["load"] = {
                name: [{"connections": c, **wrk(url, auth=a, connections=c, seconds=3)} for c in LOAD_STEPS]
                for name, url, a in (("list_tasks", hub + POLL, auth), ("floor_select", floor + "/select", None))
            }
    finally:
        redis.stop()
    return results


def ratios(r: dict) -> dict:
    """Medians of the rounds' own hub/floor ratios."""
    return {
        **{name: summarize(values)["median"] for name, values in r["paired"].items()},
        "list_p99_1m_vs_10k": r["list_p99_1m_ms"]["median"] / r["list_p99_10k_ms"]["median"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", help="a PostgreSQL URL; default SQLite in a temp folder")
    parser.add_argument("--floor-database", help="a second PostgreSQL URL for the floor app")
    parser.add_argument("--big-database", help="a third PostgreSQL URL for the 1M-row table")
    parser.add_argument("--json", help="write results here")
    args = parser.parse_args()
    result = run(args.database, args.floor_database, args.big_database)
    result["ratios"] = ratios(result)
    for name, row in result["throughput"].items():
        print(
            f"{name:14} {row['rps']['median']:8.0f} req/s  p99 {row['p99_ms']['median']:7.1f} ms  "
            f"errors {row['errors']}"
        )
    p99 = {size: result[f"list_p99_{size}_ms"]["median"] for size in ("10k", "1m")}
    print(f"list p99: 10k {p99['10k']:.1f} ms, 1M {p99['1m']:.1f} ms")
    print(json.dumps(result["ratios"], indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
