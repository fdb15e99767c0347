"""Webhook benchmarks on the embedded default (SQLite WAL + embedded Redis)
or PostgreSQL, with their floors measured in the same run.

    python bench/webhooks.py [--database postgresql-URL] [--events 1000] [--pace 0.02]
                             [--throughput-events 40] [--workers 1,2] [--json]

1. Latency: commit of a task.created -> the receiver's first byte, over
   --events events created every --pace seconds (targets p50 < 50 ms, p99 <
   250 ms). HUB_WEBHOOK_CONCURRENCY etc. are read from the environment.
2. Throughput: deliveries/s to 100 subscriptions (signed, logged), with
   1 and 2 `codetether-hub delivery-worker` processes, BENCH_RUNS rounds, beside the floors: a bare RQ
   no-op job (SimpleWorker and RQ's forking Worker, one process) and a bare
   keep-alive httpx POST loop to the same receiver (target >= 40% of it).
3. Fan-out: one event to 1,000 subscriptions, all delivered (target < 5 s).
4. Memory: the resident set (VmRSS) of each delivery worker process once it
   has done its part above (target < 150 MB).

Everything runs on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RUNS, free_port, percentile  # noqa: E402
from hub.embedded_redis import EmbeddedRedis  # noqa: E402

EVENTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "1000"))
THROUGHPUT_EVENTS = int(os.environ.get("BENCH_THROUGHPUT_EVENTS", "40"))


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise SystemExit(f"timed out waiting for {what}")


class Receiver:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "receiver.py"), str(self.port)])
        self.http = httpx.Client(timeout=10, trust_env=False)
        wait_until(self._up, 20, "the receiver")

    def _up(self):
        try:
            return self.http.get(self.url + "/count").status_code == 200
        except httpx.HTTPError:
            return False

    def count(self) -> int:
        return int(self.http.get(self.url + "/count").text)

    def dump(self) -> list[tuple[str, float]]:
        return self.http.get(self.url + "/dump").json()

    def reset(self) -> None:
        self.http.get(self.url + "/reset")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Hub:
    """An instance folder, a migrated SQLite database, the embedded Redis,
    and this process's app for creating tasks through the services."""

    def __init__(self, instance: Path, database: str | None = None):
        self.redis = EmbeddedRedis(instance).start()
        self.env = dict(
            os.environ,
            HUB_INSTANCE_PATH=str(instance),
            REDIS_URL=self.redis.url,
            SECRET_KEY="bench",
            HUB_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",
            DATABASE_URL=database or f"sqlite:///{instance / 'hub.db'}",
        )
        os.environ.update(self.env)
        from flask_migrate import upgrade

        from hub import create_app
        from hub.services import accounts

        self.app = create_app()
        with self.app.app_context():
            upgrade()
            self.user = accounts.create_user("bench", tier="enterprise")  # no concurrent-task cap
        self.workers: list[subprocess.Popen] = []

    def subscribe(self, url: str, count: int, event: str = "task.created") -> None:
        from hub.services import hooks

        with self.app.app_context():
            user = self._user()
            for _ in range(count):
                hooks.subscribe(user, event=event, target_url=url)

    def unsubscribe_all(self) -> None:
        from hub.services import hooks

        with self.app.app_context():
            user = self._user()
            for hook in hooks.list_hooks(user):
                hooks.unsubscribe(user, hook.id)

    def _user(self):
        from hub.db import db
        from hub.models import User

        return db.session.query(User).filter_by(username="bench").one()

    def create_tasks(self, count: int, pace: float = 0.0) -> dict[str, float]:
        """Create tasks; returns event id -> commit time (time.time() when
        the commit returned from the database, before the enqueue)."""
        from flask_sqlalchemy.session import Session
        from sqlalchemy import event as sa_event

        from hub.services import tasks

        committed: dict[str, float] = {}

        def stamp(session):
            now = time.time()
            for event_id in session.info.get("hub_events", []):
                committed[event_id] = now

        sa_event.listen(Session, "after_commit", stamp, insert=True)  # runs before the enqueue hook
        try:
            with self.app.app_context():
                user = self._user()
                for i in range(count):
                    tasks.create_task(user, title=f"bench {i}", prompt="p")
                    if pace:
                        time.sleep(pace)
        finally:
            sa_event.remove(Session, "after_commit", stamp)
        return committed

    def start_workers(self, n: int) -> None:
        for _ in range(n):
            self.workers.append(
                subprocess.Popen([sys.executable, "-m", "hub", "delivery-worker"], env=self.env, cwd=ROOT)
            )

    def worker_rss_mb(self) -> float:
        """The largest resident set among the running delivery workers."""
        from bench.memory import rss_mb

        return max(rss_mb(worker.pid) for worker in self.workers)

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.wait(30)
        self.workers = []

    def stop(self) -> None:
        self.stop_workers()
        self.redis.stop()


def warm_up(hub: Hub, receiver: Receiver) -> None:
    """One event through, so the workers are up before we time anything."""
    expected = receiver.count() + len(hub_hooks(hub))
    hub.create_tasks(1)
    wait_until(lambda: receiver.count() >= expected, 60, "the warm-up delivery")


def hub_hooks(hub: Hub):
    from hub.services import hooks

    with hub.app.app_context():
        return hooks.list_hooks(hub._user())


def bench_latency(hub: Hub, receiver: Receiver, events: int, pace: float) -> dict:
    hub.subscribe(receiver.url + "/latency", 1)
    hub.start_workers(1)
    warm_up(hub, receiver)
    receiver.reset()
    committed = hub.create_tasks(events, pace=pace)
    wait_until(lambda: receiver.count() >= events, 120, "every latency event")
    arrived = dict(receiver.dump())
    latencies = [(arrived[e] - t) * 1000 for e, t in committed.items() if e in arrived]
    rss = hub.worker_rss_mb()
    hub.stop_workers()
    hub.unsubscribe_all()
    return {
        "events": len(latencies),
        "per_s": round(1 / pace),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "latencies_ms": [round(v, 2) for v in latencies],
        "worker_rss_mb": rss,
    }


def bench_throughput(hub: Hub, receiver: Receiver, events: int, workers: int, subscriptions: int = 100) -> dict:
    """Deliveries/s, and the POST floor measured just before it (this kind of
    machine is noisy: a floor from minutes earlier is a different machine)."""
    floor = floor_post_loop(receiver)["per_s"]
    hub.subscribe(receiver.url + "/fanout", subscriptions)
    hub.start_workers(workers)
    warm_up(hub, receiver)
    receiver.reset()
    start = time.time()
    hub.create_tasks(events)
    total = events * subscriptions
    wait_until(lambda: receiver.count() >= total, 600, "every delivery")
    elapsed = max(t for _, t in receiver.dump()) - start
    rss = hub.worker_rss_mb()
    hub.stop_workers()
    hub.unsubscribe_all()
    rate = round(total / elapsed)
    return {
        "workers": workers,
        "deliveries": total,
        "seconds": round(elapsed, 2),
        "per_s": rate,
        "post_floor_per_s": floor,
        "of_post_floor": round(rate / floor, 3),
        "worker_rss_mb": rss,
    }


def bench_fanout(hub: Hub, receiver: Receiver, subscriptions: int = 1000, workers: int = 1) -> dict:
    hub.subscribe(receiver.url + "/thousand", subscriptions)
    hub.start_workers(workers)
    warm_up(hub, receiver)
    receiver.reset()
    committed = hub.create_tasks(1)
    wait_until(lambda: receiver.count() >= subscriptions, 120, "the fan-out")
    last = max(t for _, t in receiver.dump())
    rss = hub.worker_rss_mb()
    hub.stop_workers()
    hub.unsubscribe_all()
    return {"subscriptions": subscriptions, "seconds": round(last - min(committed.values()), 2), "worker_rss_mb": rss}


def summarize_throughput(runs: list[dict]) -> dict:
    """Rounds of one worker count: medians, and the spread of each round's
    own ratio to the POST floor measured just before it."""
    ratios = [r["of_post_floor"] for r in runs]
    return {
        "workers": runs[0]["workers"],
        "deliveries": runs[0]["deliveries"],
        "runs": len(runs),
        "seconds": statistics.median(r["seconds"] for r in runs),
        "per_s": round(statistics.median(r["per_s"] for r in runs)),
        "post_floor_per_s": round(statistics.median(r["post_floor_per_s"] for r in runs)),
        "of_post_floor": statistics.median(ratios),
        "of_post_floor_min": min(ratios),
        "of_post_floor_max": max(ratios),
        "worker_rss_mb": max(r["worker_rss_mb"] for r in runs),
    }


def floor_post_loop(receiver: Receiver, n: int = 3000) -> dict:
    body = json.dumps({"id": "evt_x", "type": "task.created", "timestamp": "t", "data": {"p": "x" * 900}}).encode()
    with httpx.Client(trust_env=False) as client:
        client.post(receiver.url + "/floor", content=body)
        start = time.perf_counter()
        for _ in range(n):
            client.post(receiver.url + "/floor", content=body, headers={"content-type": "application/json"})
        elapsed = time.perf_counter() - start
    return {"posts": n, "per_s": round(n / elapsed)}


def floor_rq_noop(redis_url: str, worker_class: str, n: int) -> dict:
    """Bare RQ: n no-op jobs drained by one burst worker process."""
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    queue = Queue("floor", connection=conn)
    queue.empty()
    for _ in range(n):
        queue.enqueue("os.getpid", result_ttl=0)
    code = (
        f"import time, sys; from redis import Redis; from rq import Queue; from rq.worker import {worker_class} as W;"
        "c=Redis.from_url(sys.argv[1]); w=W([Queue('floor', connection=c)], connection=c);"
        "t=time.perf_counter(); w.work(burst=True, logging_level='WARNING'); print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code, redis_url], capture_output=True, text=True, check=True)
    elapsed = float(out.stdout.strip().splitlines()[-1])
    return {"worker": worker_class, "jobs": n, "per_s": round(n / elapsed)}


def run(
    database: str | None = None,
    events: int = EVENTS,
    pace: float = 0.02,
    throughput_events: int = THROUGHPUT_EVENTS,
    workers: str = "1,2",
) -> dict:
    """Every webhook figure and its floors; ``database`` a PostgreSQL URL
    (default: SQLite in a temporary folder)."""
    results: dict = {"database": "postgresql" if database else "sqlite"}
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        receiver = Receiver()
        hub = Hub(Path(tmp), database)
        try:
            results["floor_post_loop"] = floor_post_loop(receiver)
            results["floor_rq_noop_simple"] = floor_rq_noop(hub.redis.url, "SimpleWorker", 2000)
            results["floor_rq_noop_forking"] = floor_rq_noop(hub.redis.url, "Worker", 200)
            results["latency"] = bench_latency(hub, receiver, events, pace)
            counts = [int(w) for w in workers.split(",")]
            rounds = [[bench_throughput(hub, receiver, throughput_events, w) for w in counts] for _ in range(RUNS)]
            results["throughput"] = [summarize_throughput([r[i] for r in rounds]) for i in range(len(counts))]
            results["fanout"] = bench_fanout(hub, receiver)
        finally:
            hub.stop()
            receiver.stop()
    results["worker_rss_mb"] = max(
        [results["latency"]["worker_rss_mb"], results["fanout"]["worker_rss_mb"]]
        + [row["worker_rss_mb"] for row in results["throughput"]]
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--events", type=int, default=EVENTS, help=f"latency events (default {EVENTS})")
    parser.add_argument(
        "--pace", type=float, default=0.02, help="seconds between latency events (default 0.02: 50 events/s)"
    )
    parser.add_argument("--throughput-events", type=int, default=THROUGHPUT_EVENTS, help="events x 100 subscriptions")
    parser.add_argument("--workers", default="1,2", help="worker process counts to try")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = run(args.database, args.events, args.pace, args.throughput_events, args.workers)
    if args.json:
        print(json.dumps(results))
        return
    print_report(results)


def print_report(r: dict) -> None:
    lat, fan = r["latency"], r["fanout"]
    print(f"\nWebhook benchmarks ({r['database']} + embedded Redis, loopback receiver)")
    print(f"  floor: keep-alive httpx POST loop        {r['floor_post_loop']['per_s']:>7} /s")
    print(f"  floor: RQ no-op, SimpleWorker x1          {r['floor_rq_noop_simple']['per_s']:>7} jobs/s")
    print(f"  floor: RQ no-op, forking Worker x1        {r['floor_rq_noop_forking']['per_s']:>7} jobs/s")
    print(
        f"  commit -> first byte over {lat['events']} events at {lat['per_s']}/s:  "
        f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms (max {lat['max_ms']} ms)   targets p50 < 50 ms, p99 < 250 ms: "
        f"{'met' if lat['p50_ms'] < 50 and lat['p99_ms'] < 250 else 'MISSED'}"
    )
    for row in r["throughput"]:
        verdict = "met" if row["of_post_floor"] >= 0.4 else "MISSED"
        print(
            f"  deliveries/s, 100 subscriptions, {row['workers']} worker(s): {row['per_s']:>6} /s = "
            f"{row['of_post_floor']:.0%} (rounds {row['of_post_floor_min']:.0%}..{row['of_post_floor_max']:.0%}) "
            f"of the POST floor measured beside each ({row['post_floor_per_s']}/s; "
            f"{row['deliveries']} in {row['seconds']} s)  "
            f"target >= 40%: {verdict}"
        )
    print(
        f"  fan-out: one event to {fan['subscriptions']} subscriptions in {fan['seconds']} s   "
        f"target < 5 s: {'met' if fan['seconds'] < 5 else 'MISSED'}"
    )
    print(
        f"  delivery worker resident set after its runs: {r['worker_rss_mb']:.0f} MB   target < 150 MB: "
        f"{'met' if r['worker_rss_mb'] < 150 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
