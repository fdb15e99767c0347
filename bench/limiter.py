"""What the per-user tier limit costs on a simple authenticated GET.

    python bench/limiter.py [--json OUT]

One hub, three gunicorns with the same settings, measured in turn: the limiter switched off
(RATELIMIT_ENABLED=False), enterprise users (tier unlimited: flask-limiter
runs, Redis is not asked), and pro users at 300/minute (moving window on
Redis, asked once every few requests: hub/moving_window.py; headers on
every response). Requests rotate over many pro users so none reaches its
limit and each window list stays as short as a real user's; a 429 would
show up as errors. Bare Flask "hello" is the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from contextlib import ExitStack, suppress
from pathlib import Path

import redis as redis_lib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import PY, ROOT, RUNS, WRK_CONNECTIONS, WRK_SECONDS, free_port, gunicorn, summarize
from hub.embedded_redis import EmbeddedRedis

USERS = int(os.environ.get("BENCH_USERS", "300"))  # x 300/minute: room for ~1,500 req/s over a minute
# Many short rounds rather than a few long ones: load from elsewhere on a
# shared machine changes within seconds, and each round's ratio is judged.
ROUNDS = int(os.environ.get("BENCH_LIMITER_ROUNDS", str(3 * RUNS)))
SECONDS = max(2, int(os.environ.get("BENCH_LIMITER_SECONDS", str(WRK_SECONDS // 2))))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_WRK_LUA = """
local keys = {}
for key in string.gmatch(os.getenv("BENCH_KEYS"), "[^,]+") do keys[#keys + 1] = key end
local n = math.random(#keys)
request = function()
  n = n % #keys + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. keys[n]})
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status))
end
"""


def wrk(url: str, keys: list[str]) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_WRK_LUA)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{WRK_CONNECTIONS}", f"-d{SECONDS}s", "-s", fh.name, url],
        env={**os.environ, "BENCH_KEYS": ",".join(keys)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(fh.name)
    requests, duration_us, p50, p99, bad = map(int, re.search(r"BENCH (\d+) (\d+) (\d+) (\d+) (\d+)", out).groups())
    return {"rps": requests / (duration_us / 1e6), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "non_2xx": bad}


def redis_calls(client) -> tuple[int, int]:
    """Commands Redis ran (those inside Lua scripts included) and script calls
    (one round trip each: flask-limiter sends nothing else here)."""
    stats = client.info("commandstats")
    commands = sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")
    scripts = sum(v["calls"] for k, v in stats.items() if k.startswith(("cmdstat_eval", "cmdstat_fcall")))
    return commands, scripts


def cpu_seconds(master: int, redis_pid: int) -> float:
    """CPU time (user + system) used so far by a gunicorn, its workers (the
    live ones, and through the master's cutime/cstime those it recycled) and
    Redis."""
    from bench.memory import children

    def fields(pid: int) -> list[int]:
        return [int(v) for v in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:15]]

    total = sum(fields(master)) + sum(fields(redis_pid)[:2])
    for pid in children(master):
        with suppress(OSError, ValueError):  # recycled meanwhile: counted in the master's cutime next time
            total += sum(fields(pid)[:2])
    return total / CLOCK_TICKS


def gunicorn_master(base: str) -> int:
    port = base.rsplit(":", 1)[1]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"gunicorn" in b" ".join(args) and f"127.0.0.1:{port}".encode() in args:
            return int(cmdline.parent.name)
    raise RuntimeError(f"no gunicorn on {base}")


def make_users(tier: str, count: int) -> list[str]:
    """Users with API keys, made through the hub's own services."""
    from hub import create_app
    from hub.services import accounts

    app = create_app()
    keys = []
    with app.app_context():
        for i in range(count):
            accounts.create_user(f"{tier}-{i}", tier=tier)
            keys.append(accounts.create_api_key(f"{tier}-{i}")[1])
    return keys


def run() -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-limiter-"))
    redis = EmbeddedRedis(workdir / "redis", port=free_port()).start()
    env = {
        "HUB_INSTANCE_PATH": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'hub.db'}",
        "REDIS_URL": redis.url,
        "SECRET_KEY": "bench",
        "BENCH_FLOOR_DB": f"sqlite:///{workdir / 'floor.db'}",
    }
    os.environ.update(env)
    try:
        subprocess.run([PY, "-m", "hub", "db", "upgrade"], cwd=ROOT, check=True, capture_output=True)
        keys = {"pro": make_users("pro", USERS), "enterprise": make_users("enterprise", 20)}
        url = "/api/v1/me"
        variants = (
            ("off", "hub:create_app({'RATELIMIT_ENABLED': False})", "pro"),
            ("unlimited tier", "hub:create_app()", "enterprise"),
            ("pro 300/minute", "hub:create_app()", "pro"),
        )
        samples: dict[str, list] = {}
        redis_client = redis_lib.Redis.from_url(redis.url)
        with ExitStack() as stack:
            floor = stack.enter_context(gunicorn("bench.floors:app", env))
            hubs = {
                name: stack.enter_context(gunicorn(spec, env, probe="/openapi.json")) for name, spec, _tier in variants
            }
            # Interleaved, in a rotating order, so that load from elsewhere on
            # the machine hits every variant alike; the verdict is the median of
            # each round's own ratio (pro / off), not a ratio of medians.
            # Server CPU per request (gunicorn + Redis) explains a ratio: it
            # moves much less than req/s when something else takes the cores.
            masters = {name: gunicorn_master(base) for name, base in hubs.items()}
            for round_ in range(ROUNDS):
                if round_ % 3 == 0:
                    samples.setdefault("bare Flask hello", []).append(floor_hello(floor))
                rotated = variants[round_ % len(variants) :] + variants[: round_ % len(variants)]
                for name, _spec, tier in rotated:
                    before, cpu_before = redis_calls(redis_client), cpu_seconds(masters[name], redis.process.pid)
                    result = wrk(hubs[name] + url, keys[tier])
                    after, cpu_after = redis_calls(redis_client), cpu_seconds(masters[name], redis.process.pid)
                    requests = result["rps"] * SECONDS
                    samples.setdefault(name, []).append(
                        {
                            **result,
                            "redis_per_request": (after[0] - before[0]) / requests,
                            "scripts_per_request": (after[1] - before[1]) / requests,
                            "server_cpu_us": (cpu_after - cpu_before) / requests * 1e6,
                        }
                    )
        result = {
            name: {
                "rps": summarize([s["rps"] for s in runs]),
                "p50_ms": summarize([s["p50_ms"] for s in runs]),
                "p99_ms": summarize([s["p99_ms"] for s in runs]),
                "redis_commands_per_request": summarize([s.get("redis_per_request", 0) for s in runs]),
                "round_trips_per_request": summarize([s.get("scripts_per_request", 0) for s in runs]),
                "server_cpu_us_per_request": summarize([s.get("server_cpu_us", 0) for s in runs]),
                "non_2xx": sum(s["non_2xx"] for s in runs),
            }
            for name, runs in samples.items()
        }
        result["pro_to_off"] = summarize(
            [pro["rps"] / off["rps"] for pro, off in zip(samples["pro 300/minute"], samples["off"], strict=True)]
        )
        result["unlimited_to_off"] = summarize(
            [u["rps"] / off["rps"] for u, off in zip(samples["unlimited tier"], samples["off"], strict=True)]
        )
        result["cpu_off_to_pro"] = summarize(
            [
                off["server_cpu_us"] / pro["server_cpu_us"]
                for pro, off in zip(samples["pro 300/minute"], samples["off"], strict=True)
            ]
        )
        return result
    finally:
        redis.stop()


def floor_hello(base: str) -> dict:
    from bench.common import wrk as plain_wrk

    result = plain_wrk(base + "/hello")
    return {**result, "non_2xx": result["non_2xx"] + result["socket_errors"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="write results here")
    args = parser.parse_args()
    result = run()
    for name, row in result.items():
        if "rps" not in row:
            continue
        print(
            f"{name:18} {row['rps']['median']:7.0f} req/s (runs {row['rps']['min']:.0f}..{row['rps']['max']:.0f})"
            f"  p50 {row['p50_ms']['median']:5.1f} ms  p99 {row['p99_ms']['median']:6.1f} ms  non-2xx {row['non_2xx']}"
            f"  server CPU {row['server_cpu_us_per_request']['median']:.0f} us/request"
            f"  Redis per request: {row['round_trips_per_request']['median']:.1f} scripts,"
            f" {row['redis_commands_per_request']['median']:.1f} commands"
        )
    off, on = result["off"]["rps"]["median"], result["pro 300/minute"]["rps"]["median"]
    ratio = result["pro_to_off"]
    print(
        f"limiter overhead on GET /api/v1/me: pro tier at {ratio['median']:.0%} of limiter-off req/s "
        f"(rounds {ratio['min']:.0%}..{ratio['max']:.0%}; target >= 75%), "
        f"{(1 / on - 1 / off) * 1e6:.0f} us of server capacity more per request; server CPU per request "
        f"off/pro {result['cpu_off_to_pro']['median']:.0%}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
