"""Turn benchmark results into docs/benchmarks.md: one table of verdicts
(every figure a ratio to a floor from the same run) and PNG plots."""

from __future__ import annotations

import platform
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.common import GUNICORN_WORKERS, summarize


def _med(stat: dict) -> float:
    return stat["median"]


def _spread(stat: dict) -> str:
    return f"{stat['min']:.0f}–{stat['max']:.0f}"


def api_rows(label: str, r: dict) -> list[dict]:
    t = r["throughput"]
    rps = {k: v["rps"] for k, v in t.items()}
    rows = []
    for what, hub, floor, paired, target in (
        ("create task req/s", "create_task", "floor_insert", "create_vs_insert", 0.5),
        ("get task req/s", "get_task", "floor_select", "get_vs_select", 0.6),
        ("list tasks (status=completed&limit=3) req/s", "list_tasks", "floor_select", "list_vs_select", 0.6),
    ):
        # The median of each round's own ratio (interleaved rounds).
        rounds = summarize(r["paired"][paired])
        ratio = rounds["median"]
        rows.append(
            {
                "what": f"{what} [{label}]",
                "measured": f"{_med(rps[hub]):.0f} ({_spread(rps[hub])})",
                "floor": f"{_med(rps[floor]):.0f} ({_spread(rps[floor])})",
                "ratio": f"{ratio:.0%} ({rounds['min']:.0%}–{rounds['max']:.0%})",
                "target": f">= {target:.0%} of floor",
                "verdict": "OK" if ratio >= target else "MISS",
            }
        )
    growth = _med(r["list_p99_1m_ms"]) / _med(r["list_p99_10k_ms"])
    rows.append(
        {
            "what": f"list p99 with 1,000,000 tasks vs 10,000 [{label}]",
            "measured": f"{_med(r['list_p99_1m_ms']):.1f} ms vs {_med(r['list_p99_10k_ms']):.1f} ms",
            "floor": "—",
            "ratio": f"{growth:.2f}x",
            "target": "<= 1.5x",
            "verdict": "OK" if growth <= 1.5 else "MISS",
        }
    )
    return rows


def limiter_rows(r: dict) -> list[dict]:
    """The per-user tier limit (moving window on Redis, headers on every
    response) against the same hub with the limiter off: the median of each
    round's own ratio (interleaved rounds)."""
    off, on = r["off"]["rps"], r["pro 300/minute"]["rps"]
    ratio = r.get("pro_to_off") or {
        "median": _med(on) / _med(off),
        "min": _med(on) / _med(off),
        "max": _med(on) / _med(off),
    }
    trips = _med(r["pro 300/minute"]["round_trips_per_request"])
    cpu = ""
    if "server_cpu_us_per_request" in r["off"]:
        cpu = (
            f"; server CPU {_med(r['pro 300/minute']['server_cpu_us_per_request']):,.0f} vs "
            f"{_med(r['off']['server_cpu_us_per_request']):,.0f} µs/request"
        )
    return [
        {
            "what": f"authenticated GET /api/v1/me with the pro tier limit ({trips:.2f} Redis calls/request) req/s",
            "measured": f"{_med(on):.0f} ({_spread(on)}){cpu}",
            "floor": f"{_med(off):.0f} ({_spread(off)}) limiter off",
            "ratio": f"{ratio['median']:.0%} ({ratio['min']:.0%}–{ratio['max']:.0%})",
            "target": ">= 75% of floor",
            "verdict": _ok(ratio["median"] >= 0.75 and r["pro 300/minute"]["non_2xx"] == 0),
        }
    ]


def _ok(met: bool) -> str:
    return "OK" if met else "MISS"


def webhook_rows(label: str, r: dict) -> list[dict]:
    lat, fan = r["latency"], r["fanout"]
    rows = [
        {
            "what": f"event commit -> receiver's first byte, {lat['events']} events at {lat['per_s']}/s [{label}]",
            "measured": f"p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms",
            "floor": "—",
            "ratio": "—",
            "target": "p50 < 50 ms, p99 < 250 ms",
            "verdict": _ok(lat["p50_ms"] < 50 and lat["p99_ms"] < 250),
        }
    ]
    for row in r["throughput"]:
        rows.append(
            {
                "what": f"deliveries/s to 100 subscriptions (signed, logged), {row['workers']} worker "
                f"process{'es' if row['workers'] > 1 else ''} [{label}]",
                "measured": f"{row['per_s']} ({row['deliveries']} in {row['seconds']} s, "
                f"median of {row.get('runs', 1)})",
                "floor": f"{row['post_floor_per_s']} keep-alive POST loop",
                "ratio": f"{row['of_post_floor']:.0%}"
                + (
                    f" ({row['of_post_floor_min']:.0%}–{row['of_post_floor_max']:.0%})"
                    if "of_post_floor_min" in row
                    else ""
                ),
                "target": ">= 40% of floor",
                "verdict": _ok(row["of_post_floor"] >= 0.4),
            }
        )
    rows.append(
        {
            "what": f"fan-out: one event to {fan['subscriptions']:,} subscriptions, all delivered [{label}]",
            "measured": f"{fan['seconds']:.2f} s",
            "floor": "—",
            "ratio": "—",
            "target": "< 5 s",
            "verdict": _ok(fan["seconds"] < 5),
        }
    )
    return rows


def callback_rows(label: str, r: dict) -> list[dict]:
    return [
        {
            "what": f"task completion (worker API complete, its commit) -> callback's first byte, {r['callbacks']:,} "
            f"callbacks at {r['per_s']}/s [{label}]",
            "measured": f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms (max {r['max_ms']:.0f} ms; from the "
            f"complete's answer: p99 {r['after_answer_p99_ms']:.1f} ms)",
            "floor": "—",
            "ratio": "—",
            "target": "p50 < 50 ms, p99 < 250 ms",
            "verdict": _ok(r["p50_ms"] < 50 and r["p99_ms"] < 250),
        }
    ]


def isolation_rows(r: dict) -> list[dict]:
    return [
        {
            "what": f"healthy endpoint's commit -> first byte while another endpoint hangs, {r['events']} events "
            f"at {r['per_s']}/s [SQLite]",
            "measured": f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms (max {r['max_ms']:.0f} ms)",
            "floor": "—",
            "ratio": "—",
            "target": "p99 < 1 s",
            "verdict": _ok(r["p99_ms"] < 1000),
        }
    ]


def claim_rows(label: str, r: dict) -> list[dict]:
    return [
        {
            "what": f"create -> waiting worker's claim, {r['tasks']} tasks [{label}]",
            "measured": f"p50 {r['after_answer_p50_ms']:.1f} ms, p99 {r['after_answer_p99_ms']:.1f} ms "
            f"(from the create's request: p99 {r['after_request_p99_ms']:.1f} ms)",
            "floor": "—",
            "ratio": "—",
            "target": "p99 < 100 ms",
            "verdict": _ok(r["after_answer_p99_ms"] < 100),
        }
    ]


def mcp_call_rows(r: dict) -> list[dict]:
    rps = {name: row["rps"] for name, row in r["throughput"].items()}
    rounds = summarize(r["paired"]["mcp_vs_rest"])
    return [
        {
            "what": f"MCP tools/call {r['tool']} req/s vs GET {r['rest']}, the same task [SQLite]",
            "measured": f"{_med(rps['mcp']):.0f} ({_spread(rps['mcp'])})",
            "floor": f"{_med(rps['rest']):.0f} ({_spread(rps['rest'])})",
            "ratio": f"{rounds['median']:.0%} ({rounds['min']:.0%}–{rounds['max']:.0%})",
            "target": ">= 50% of the REST call",
            "verdict": _ok(rounds["median"] >= 0.5),
        }
    ]


def mcp_notify_rows(r: dict) -> list[dict]:
    return [
        {
            "what": f"task completion (worker API complete sent) -> MCP notifications/tasks/status at the client, "
            f"{r['notifications']} MCP tasks at {r['per_s']}/s [SQLite]",
            "measured": f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms (max {r['max_ms']:.0f} ms; from the "
            f"complete's answer: p99 {r['after_answer_p99_ms']:.1f} ms)",
            "floor": "—",
            "ratio": "—",
            "target": "p99 < 250 ms",
            "verdict": _ok(r["p99_ms"] < 250),
        }
    ]


def memory_rows(label: str, r: dict) -> list[dict]:
    load = ", ".join(f"{v['requests']:,} {k}" for k, v in r["load"].items())
    return [
        {
            "what": f"RSS of one gunicorn worker after {load} [{label}]",
            "measured": f"{r['gunicorn_worker_rss_mb']:.0f} MB",
            "floor": "—",
            "ratio": "—",
            "target": "< 150 MB",
            "verdict": _ok(r["gunicorn_worker_rss_mb"] < 150),
        },
        {
            "what": f"RSS of one delivery worker after {r['deliveries']:,} deliveries [{label}]",
            "measured": f"{r['delivery_worker_rss_mb']:.0f} MB",
            "floor": "—",
            "ratio": "—",
            "target": "< 150 MB",
            "verdict": _ok(r["delivery_worker_rss_mb"] < 150),
        },
    ]


ROWS = {
    "api_sqlite": lambda r: api_rows("SQLite", r),
    "api_postgresql": lambda r: api_rows("PostgreSQL", r),
    "limiter": limiter_rows,
    "webhooks_sqlite": lambda r: webhook_rows("SQLite", r),
    "webhooks_postgresql": lambda r: webhook_rows("PostgreSQL", r),
    "callbacks_sqlite": lambda r: callback_rows("SQLite", r),
    "callbacks_postgresql": lambda r: callback_rows("PostgreSQL", r),
    "isolation": isolation_rows,
    "claim_sqlite": lambda r: claim_rows("SQLite", r),
    "claim_postgresql": lambda r: claim_rows("PostgreSQL", r),
    "mcp_call": mcp_call_rows,
    "mcp_notify": mcp_notify_rows,
    "memory_sqlite": lambda r: memory_rows("SQLite", r),
    "memory_postgresql": lambda r: memory_rows("PostgreSQL", r),
}


def plot_api(results: dict, folder: Path) -> list[str]:
    images = []
    for name in ("api_sqlite", "api_postgresql"):
        if name not in results:
            continue
        r = results[name]
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        labels = list(r["throughput"])
        left.bar(
            labels,
            [_med(r["throughput"][k]["rps"]) for k in labels],
            color=["#999" if k in ("hello", "floor_insert", "floor_select") else "#2a6" for k in labels],
        )
        left.set_ylabel("requests/s (median)")
        left.set_title("hub routes (green) beside floors (grey)")
        left.tick_params(axis="x", rotation=30)
        for series, points in r["load"].items():
            right.plot(
                [p["connections"] for p in points], [p["p99_ms"] for p in points], marker="o", label=f"{series} p99"
            )
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


LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _save(fig, folder: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(folder / name, dpi=90)
    plt.close(fig)
    return name


def plot_latency(results: dict, folder: Path) -> list[str]:
    """Distributions (CDF) of event -> first byte, completion -> callback and create -> claim."""
    panels = [
        ("webhooks", "latency", "latencies_ms", "event commit -> receiver's first byte", (50, 250)),
        ("callbacks", None, "latencies_ms", "task completion's commit -> callback's first byte", (50, 250)),
        ("claim", None, "after_answer_ms", "create answered -> waiting worker's claim", (None, 100)),
    ]
    panels = [p for p in panels if any(f"{p[0]}_{db}" in results for db in LABELS)]
    if not panels:
        return []
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (prefix, part, key, title, (p50_target, p99_target)) in zip(axes[0], panels, strict=True):
        for db, label in LABELS.items():
            r = results.get(f"{prefix}_{db}")
            values = sorted((r[part] if part else r).get(key, [])) if r else []
            if values:
                ax.plot(values, [(i + 1) / len(values) for i in range(len(values))], label=label)
        if p50_target:
            ax.axvline(p50_target, color="#c80", linestyle=":", label=f"p50 target {p50_target} ms")
        ax.axvline(p99_target, color="#c00", linestyle="--", label=f"p99 target {p99_target} ms")
        ax.axhline(0.99, color="#999", linewidth=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("ms (log)")
        ax.set_ylabel("fraction of events")
        ax.set_title(title)
        ax.legend(fontsize=8)
    return [_save(fig, folder, "bench-latency.png")]


def plot_deliveries(results: dict, folder: Path) -> list[str]:
    """Cost against load: deliveries/s as worker processes are added, beside
    the floors measured in the same run."""
    runs = {LABELS[db]: results[f"webhooks_{db}"] for db in LABELS if f"webhooks_{db}" in results}
    if not runs:
        return []
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, r in runs.items():
        workers = [row["workers"] for row in r["throughput"]]
        ax.plot(workers, [row["per_s"] for row in r["throughput"]], marker="o", label=f"hub deliveries/s [{label}]")
        ax.plot(
            workers,
            [row["post_floor_per_s"] * 0.4 for row in r["throughput"]],
            linestyle="--",
            color="#c00",
            label=f"40% of the POST-loop floor [{label}]",
        )
        ax.axhline(
            r["floor_rq_noop_simple"]["per_s"],
            color="#999",
            linestyle=":",
            label=f"floor: RQ no-op jobs/s, SimpleWorker [{label}]",
        )
    ax.set_xlabel("delivery worker processes")
    ax.set_xticks(sorted({row["workers"] for r in runs.values() for row in r["throughput"]}))
    ax.set_ylabel("deliveries/s")
    ax.set_title("deliveries to 100 subscriptions against workers")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="lower left")
    return [_save(fig, folder, "bench-webhooks.png")]


def plot_limiter(results: dict, folder: Path) -> list[str]:
    r = results.get("limiter")
    if not r:
        return []
    names = ["off", "unlimited tier", "pro 300/minute"]
    fig, ax = plt.subplots(figsize=(6, 4))
    medians = [_med(r[n]["rps"]) for n in names]
    errors = [
        [m - r[n]["rps"]["min"] for m, n in zip(medians, names, strict=True)],
        [r[n]["rps"]["max"] - m for m, n in zip(medians, names, strict=True)],
    ]
    ax.bar(names, medians, yerr=errors, color=["#999", "#2a6", "#2a6"], capsize=4)
    ax.axhline(0.75 * medians[0], color="#c00", linestyle="--", label="target: 75% of limiter off")
    ax.set_ylabel("GET /api/v1/me requests/s (median, runs)")
    ax.set_title("tier rate limiter against the same hub without it")
    ax.legend(fontsize=8)
    return [_save(fig, folder, "bench-limiter.png")]


def plot_memory(results: dict, folder: Path) -> list[str]:
    runs = {LABELS[db]: results[f"memory_{db}"] for db in LABELS if f"memory_{db}" in results}
    if not runs:
        return []
    fig, ax = plt.subplots(figsize=(6, 4))
    bars = {
        f"{proc} [{label}]": r[key]
        for label, r in runs.items()
        for proc, key in (("gunicorn worker", "gunicorn_worker_rss_mb"), ("delivery worker", "delivery_worker_rss_mb"))
    }
    ax.bar(list(bars), list(bars.values()), color="#2a6")
    ax.axhline(150, color="#c00", linestyle="--", label="target 150 MB")
    ax.set_ylabel("resident set (MB) after the load")
    ax.tick_params(axis="x", rotation=20)
    ax.legend(fontsize=8)
    return [_save(fig, folder, "bench-memory.png")]


def floor_lines(results: dict) -> list[str]:
    """Floors measured in the run that no target row shows."""
    lines = []
    if "limiter" in results:
        lines.append(
            f"- bare Flask hello (the hub's gunicorn.conf.py: gthread, {GUNICORN_WORKERS} workers): "
            f"{_med(results['limiter']['bare Flask hello']['rps']):.0f} req/s"
        )
    for db, label in LABELS.items():
        r = results.get(f"webhooks_{db}")
        if r:
            lines.append(
                f"- [{label} run] keep-alive httpx POST loop {r['floor_post_loop']['per_s']}/s; RQ no-op jobs: "
                f"SimpleWorker {r['floor_rq_noop_simple']['per_s']}/s, forking Worker "
                f"{r['floor_rq_noop_forking']['per_s']}/s (one process each)"
            )
    return lines


def write(results: dict, out: Path) -> list[dict]:
    rows = [row for name, make in ROWS.items() if name in results for row in make(results[name])]
    images = [
        image
        for plot in (plot_api, plot_limiter, plot_deliveries, plot_latency, plot_memory)
        for image in plot(results, out.parent)
    ]
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
    lines += [
        f"| {r['what']} | {r['measured']} | {r['floor']} | {r['ratio']} | {r['target']} | {r['verdict']} |"
        for r in rows
    ]
    floors = floor_lines(results)
    if floors:
        lines += ["", "Other floors measured in this run, for scale:", "", *floors]
    seconds = results.get("seconds", {})
    if seconds:
        lines += ["", "Time taken: " + ", ".join(f"{k} {v} s" for k, v in seconds.items()) + "."]
    lines += [""] + [f"![{name}]({name})" for name in images] + [""]
    out.write_text("\n".join(lines))
    return rows
