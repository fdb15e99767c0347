"""Memory: the resident set of one gunicorn worker and of one delivery
worker after they have served the benchmark load (target: each < 150 MB).

    python bench/memory.py [--database postgresql-URL] [--json OUT]

A hub with its own gunicorn settings (hub.gunicorn_conf: gthread, 2
workers) and one `codetether-hub delivery-worker`, the embedded Redis, SQLite by
default, and a loopback receiver subscribed to task.created. wrk drives
creates, gets, the Zapier list poll and GET /me in turn; every create is
delivered. Then VmRSS (/proc/<pid>/status) of each process is read: the
largest gunicorn worker counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import PY, ROOT, WRK_SECONDS, free_port, wait_until, wrk
from hub.embedded_redis import EmbeddedRedis

TARGET_MB = 150


def rss_mb(pid: int) -> float:
    """Resident set size of one process, in MiB, as the kernel reports it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cli(env: dict, *args: str) -> dict:
    out = subprocess.run(
        [PY, "-m", "hub", *args, "--json"],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def run(database: str | None = None) -> dict:
    from bench.webhooks import Receiver

    workdir = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    redis = EmbeddedRedis(workdir / "redis", port=free_port()).start()
    env = {
        **os.environ,
        "HUB_INSTANCE_PATH": str(workdir),
        "REDIS_URL": redis.url,
        "SECRET_KEY": "bench",
        "DATABASE_URL": database or f"sqlite:///{workdir / 'hub.db'}",
        "HUB_WEB_WORKERS": "2",
        "HUB_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    receiver = Receiver()
    processes: list[subprocess.Popen] = []
    with open(workdir / "processes.log", "w") as log:
        try:
            subprocess.run([PY, "-m", "hub", "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
            cli(env, "users", "create", "bench", "--tier", "enterprise")
            key = cli(env, "api-keys", "create", "bench")["key"]
            auth = {"Authorization": f"Bearer {key}"}
            web = subprocess.Popen(
                [
                    PY,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:hub.gunicorn_conf",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "warning",
                    "--access-logfile",
                    "/dev/null",
                    "hub:create_app()",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
            worker = subprocess.Popen([PY, "-m", "hub", "delivery-worker"], cwd=ROOT, env=env, stdout=log, stderr=log)
            processes += [web, worker]
            wait_until(lambda: httpx.get(base + "/openapi.json", timeout=1).status_code == 200, what="hub")
            hook = httpx.post(
                base + "/api/v1/hooks",
                headers=auth,
                timeout=10,
                json={"event": "task.created", "target_url": receiver.url + "/memory"},
            )
            hook.raise_for_status()
            task_id = httpx.post(
                base + "/api/v1/tasks", headers=auth, json={"title": "t", "prompt": "p"}, timeout=10
            ).json()["id"]
            load = {}
            for name, path, method, body in (
                ("create task", "/api/v1/tasks", "POST", {"title": "Fix the build", "prompt": "Make CI green " * 20}),
                ("get task", f"/api/v1/tasks/{task_id}", "GET", None),
                ("list tasks", "/api/v1/tasks?status=completed&limit=3", "GET", None),
                ("GET /me", "/api/v1/me", "GET", None),
            ):
                load[name] = wrk(base + path, method=method, body=body, auth=auth["Authorization"])
            created = 1 + round(load["create task"]["rps"] * WRK_SECONDS)
            # Every create is delivered before the worker is measured (within 1%:
            # wrk's request count is rounded from its rate).
            deadline = time.monotonic() + 300
            while receiver.count() < created * 0.99 and time.monotonic() < deadline:
                time.sleep(0.2)
            gunicorn_workers = {pid: rss_mb(pid) for pid in children(web.pid)}
            return {
                "database": "postgresql" if database else "sqlite",
                "load": {
                    name: {"rps": round(r["rps"]), "requests": round(r["rps"] * WRK_SECONDS)}
                    for name, r in load.items()
                },
                "deliveries": receiver.count(),
                "gunicorn_worker_rss_mb": max(gunicorn_workers.values()),
                "gunicorn_workers_rss_mb": sorted(gunicorn_workers.values()),
                "gunicorn_master_rss_mb": rss_mb(web.pid),
                "delivery_worker_rss_mb": rss_mb(worker.pid),
                "target_mb": TARGET_MB,
            }
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)
            receiver.stop()
            redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    result = run(args.database)
    print(json.dumps(result, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
