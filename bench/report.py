"""Turn benchmark results into docs/benchmarks.md: one table of verdicts
(every figure a ratio to a floor from the same run) and PNG plots."""
from __future__ import annotations

import platform
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _med(stat: dict) -> float:
    return stat["median"]


def _spread(stat: dict) -> str:
    return f"{stat['min']:.0f}–{stat['max']:.0f}"


def api_rows(label: str, r: dict) -> list[dict]:
    t = r["throughput"]
    rps = {k: v["rps"] for k, v in t.items()}
    rows = []
    for what, hub, floor, target in (
        ("create task req/s", "create_task", "floor_insert", 0.5),
        ("get task req/s", "get_task", "floor_select", 0.6),
        ("list tasks (status=completed&limit=3) req/s", "list_tasks", "floor_select", 0.6),
    ):
        ratio = _med(rps[hub]) / _med(rps[floor])
        rows.append({
            "what": f"{what} [{label}]",
            "measured": f"{_med(rps[hub]):.0f} ({_spread(rps[hub])})",
            "floor": f"{_med(rps[floor]):.0f} ({_spread(rps[floor])})",
            "ratio": f"{ratio:.0%}", "target": f">= {target:.0%} of floor",
            "verdict": "OK" if ratio >= target else "MISS",
        })
    growth = _med(r["list_p99_1m_ms"]) / _med(r["list_p99_10k_ms"])
    rows.append({
        "what": f"list p99 with 1,000,000 tasks vs 10,000 [{label}]",
        "measured": f"{_med(r['list_p99_1m_ms']):.1f} ms vs {_med(r['list_p99_10k_ms']):.1f} ms",
        "floor": "—", "ratio": f"{growth:.2f}x", "target": "<= 1.5x",
        "verdict": "OK" if growth <= 1.5 else "MISS",
    })
    return rows


def limiter_rows(r: dict) -> list[dict]:
    """The per-user tier limit (moving window on Redis, headers on every
    response) against the same hub with the limiter off."""
    off, on = r["off"]["rps"], r["pro 300/minute"]["rps"]
    ratio = _med(on) / _med(off)
    scripts = _med(r["pro 300/minute"]["round_trips_per_request"])
    return [{
        "what": f"authenticated GET /api/v1/me with the tier limit ({scripts:.0f} Redis scripts/request) req/s",
        "measured": f"{_med(on):.0f} ({_spread(on)})", "floor": f"{_med(off):.0f} ({_spread(off)}) limiter off",
        "ratio": f"{ratio:.0%}", "target": ">= 60% of floor",
        "verdict": "OK" if ratio >= 0.6 and r["pro 300/minute"]["non_2xx"] == 0 else "MISS",
    }]


ROWS = {"api_sqlite": lambda r: api_rows("SQLite", r), "api_postgresql": lambda r: api_rows("PostgreSQL", r),
        "limiter": limiter_rows}


def plot_api(results: dict, folder: Path) -> list[str]:
    images = []
    for name in ("api_sqlite", "api_postgresql"):
        if name not in results:
            continue
        r = results[name]
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        labels = list(r["throughput"])
        left.bar(labels, [_med(r["throughput"][k]["rps"]) for k in labels],
                 color=["#999" if k in ("hello", "floor_insert", "floor_select") else "#2a6" for k in labels])
        left.set_ylabel("requests/s (median)")
        left.set_title("hub routes (green) beside floors (grey)")
        left.tick_params(axis="x", rotation=30)
        for series, points in r["load"].items():
            right.plot([p["connections"] for p in points], [p["p99_ms"] for p in points], marker="o", label=f"{series} p99")
        right.set_xscale("log", base=2)
        right.set_xlabel("concurrent connections")
        right.set_ylabel("p99 latency (ms)")
        right.set_title("cost against load")
        right.legend()
        fig.tight_layout()
        path = folder / f"bench-{name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        images.append(path.name)
    return images


def write(results: dict, out: Path) -> list[dict]:
    rows = [row for name, make in ROWS.items() if name in results for row in make(results[name])]
    images = plot_api(results, out.parent)
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `bench/run` on {results['started']} ({platform.machine()}, {platform.python_version()}).",
        "Every figure is compared with a floor measured in the same run, on the same machine, with the same",
        "gunicorn settings, so a noisy machine does not change the verdict. Medians of the runs, spread in",
        "brackets. Raw figures: `benchmarks.json`.",
        "",
        "| what | measured | floor | ratio | target | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {r['what']} | {r['measured']} | {r['floor']} | {r['ratio']} | {r['target']} | {r['verdict']} |" for r in rows]
    lines += [""] + [f"![{name}]({name})" for name in images] + [""]
    out.write_text("\n".join(lines))
    return rows
