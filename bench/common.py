"""What every benchmark needs: services on loopback, a load generator, and
statistics. Figures are ratios to floors measured in the same run."""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
WRK_SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
WRK_CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout=60.0, what="service"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout}s")


@contextmanager
def gunicorn(app_spec: str, env: dict, cwd: Path = ROOT, probe: str = "/", port: int | None = None):
    """The same gunicorn settings for the hub and for every floor (``port``:
    known beforehand, e.g. for the HUB_BASE_URL an agent card names)."""
    port = port or free_port()
    with tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(
            [
                PY,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(GUNICORN_WORKERS),
                "--log-level",
                "warning",
                app_spec,
            ],
            cwd=cwd,
            env={**os.environ, **env},
            stdout=log,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            # A bound only: at load 20+ on this 2-core machine, four workers building the hub took over 60 s.
            wait_until(lambda: httpx.get(base + probe, timeout=1).status_code < 500, timeout=240, what=app_spec)
            # One worker answering is not all of them booted: load them all
            # (and their caches) before anything is measured.
            subprocess.run(
                ["wrk", "-t2", f"-c{2 * GUNICORN_WORKERS}", "-d3s", "--timeout", "30s", base + probe],
                capture_output=True,
                check=True,
            )
            yield base
        except Exception:
            log.seek(0)
            sys.stderr.write(f"--- {app_spec} log ---\n{log.read()[-4000:]}\n")
            raise
        finally:
            proc.terminate()
            proc.wait(30)


_WRK_LUA = """
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and #body > 0 then wrk.body = body; wrk.headers["Content-Type"] = "application/json" end
local auth = os.getenv("BENCH_AUTH")
if auth and #auth > 0 then wrk.headers["Authorization"] = auth end
for name, value in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^:\\n]+): ([^\\n]*)") do
  wrk.headers[name] = value
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk(
    url: str,
    *,
    method="GET",
    body: dict | None = None,
    auth: str | None = None,
    headers: dict[str, str] | None = None,
    seconds: int = WRK_SECONDS,
    connections: int = WRK_CONNECTIONS,
) -> dict:
    """Requests/s and latency percentiles (ms) of one wrk run (``headers``: more to send)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_WRK_LUA)
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_BODY": json.dumps(body) if body else "",
        "BENCH_AUTH": auth or "",
        "BENCH_HEADERS": "".join(f"{name}: {value}\n" for name, value in (headers or {}).items()),
    }
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            fh.name,
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(fh.name)
    match = re.search(r"BENCH (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    requests, duration_us, p50, p99, bad_status, socket_errors = map(int, match.groups())
    if requests == 0 or (bad_status + socket_errors) > requests * 0.01:
        raise RuntimeError(
            f"{method} {url}: {bad_status} non-2xx and {socket_errors} socket errors "
            f"in {requests} requests; the figure would be meaningless"
        )
    return {
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "non_2xx": bad_status,
        "socket_errors": socket_errors,
    }


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(samples: list[float]) -> dict:
    """Median and spread (min..max) of repeated runs."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "runs": len(samples)}


def turn_in(start: float, index: int, pace: float) -> float:
    """Seconds to wait for the ``index``th turn of a fixed schedule, one every
    ``pace`` s from ``start`` (monotonic): 0 for a turn already late."""
    return max(0.0, start + index * pace - time.monotonic())


def completion_figures(
    latencies: list[float],
    after_answer: list[float],
    completed: int,
    seconds: float,
    pace: float,
    achieved: str = "completed_per_s",
):
    """A paced run of task completions (one every ``pace`` s; ``completed`` in
    ``seconds``, its rate under the key ``achieved``): the latencies (ms)
    measured from each completion, or other paced report, and from its answer
    (negative where what is timed arrived before the answer)."""
    return {
        "per_s": round(1 / pace),
        achieved: round(completed / seconds, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "after_answer_p50_ms": round(percentile(after_answer, 50), 1),
        "after_answer_p99_ms": round(percentile(after_answer, 99), 1),
    }


def print_completions(
    heading: str,
    count: int,
    figures: dict,
    measured: str,
    target: str,
    met: bool,
    *,
    what: str = "completions",
    achieved: str = "completed_per_s",
    request: str = "complete",
) -> None:
    """completion_figures' figures as the paced benchmarks print them (``what``
    was paced, ``request`` reported each: completions by default)."""
    print(f"\n{heading}: {count} {what} at {figures['per_s']}/s (achieved {figures[achieved]}/s)")
    print(
        f"  {measured}: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms "
        f"(max {figures['max_ms']} ms)   {target}: {'met' if met else 'MISSED'}"
    )
    print(
        f"  from the {request}'s answer: p50 {figures['after_answer_p50_ms']} ms, "
        f"p99 {figures['after_answer_p99_ms']} ms"
    )
