"""One hung receiver beside a healthy one: how late are the healthy one's
deliveries? (SQLite + embedded Redis, one delivery worker, default settings:
a 15 s timeout, 4 sends at once per endpoint.)

    python bench/isolation.py [--events 300] [--pace 0.02] [--database postgresql-URL] [--json]

Two subscriptions to every event: one to the keep-alive receiver of the
other webhook benchmarks, one to an endpoint that accepts connections and
never answers (each send to it waits out the timeout). Measured: event
commit -> the healthy receiver's first byte, over --events events created
every --pace seconds while the other hangs (target p99 < 1 s: a hung
endpoint must not delay the others by more than about a second).

Everything runs on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from bench.webhooks import Hub, Receiver, wait_until, warm_up  # noqa: E402

EVENTS = 300


class BlackHole:
    """Accepts connections and never answers: a receiver that hangs."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hang"
        self.held: list[socket.socket] = []
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def accepted(self) -> int:
        return len(self.held)

    def stop(self) -> None:
        self.stopping = True
        self.sock.close()
        for conn in self.held:
            conn.close()


def run(database: str | None = None, events: int = EVENTS, pace: float = 0.02) -> dict:
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        receiver, hole = Receiver(), BlackHole()
        hub = Hub(Path(tmp), database)
        try:
            hub.subscribe(receiver.url + "/healthy", 1)
            hub.start_workers(1)
            warm_up(hub, receiver)
            hub.subscribe(hole.url, 1)  # from now on every event goes to both
            receiver.reset()
            committed = hub.create_tasks(events, pace=pace)
            wait_until(lambda: receiver.count() >= events, 120, "every healthy delivery")
            arrived = dict(receiver.dump())
            hung = hole.accepted()
        finally:
            hub.stop()
            hole.stop()
            receiver.stop()
    latencies = [(arrived[e] - t) * 1000 for e, t in committed.items() if e in arrived]
    return {
        "events": len(latencies),
        "per_s": round(1 / pace),
        "hung_sends": hung,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "latencies_ms": [round(v, 2) for v in latencies],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between events (default 0.02: 50/s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    r = run(args.database, args.events, args.pace)
    if args.json:
        print(json.dumps(r))
        return
    print(
        f"\nHealthy endpoint beside a hung one: {r['events']} events at {r['per_s']}/s "
        f"({r['hung_sends']} connections hung at the other)"
    )
    print(
        f"  commit -> healthy receiver's first byte: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms "
        f"(max {r['max_ms']} ms)   target p99 < 1000 ms: {'met' if r['p99_ms'] < 1000 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
