"""The per-user moving window on Redis, asked once every few requests
instead of on every one.

One Redis round trip costs a worker more than the rest of a simple
authenticated GET (bench/README.md, "Profiling", fifth and sixth rounds).
So while a user has plenty left, a process admits a few of their requests
itself: at most 1/SHARE of what was left at its last call to Redis, for at
most a tenth of the window. Those hits reach Redis within RECORD_WITHIN
seconds (a timer) or with the process's next call, stamped when recorded:
later than served, so they count a little longer, never shorter. A refusal
is always decided in Redis, on a count that holds every hit this process
recorded; near the limit every request asks.

What this trades: one process never admits past the limit, and its
``RateLimit-Remaining`` never says more is left than is (it can say less
while hits leave the window between calls). Across processes a burst can
pass the limit by the hits the others admitted and had not yet recorded, at
most 1/SHARE of the remainder each. Hits admitted in the last moment before
a process exits, or while Redis is unreachable, are never recorded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import cast

import redis
from flask import g, has_app_context
from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from limits.util import WindowStats
from redis.exceptions import RedisError

from hub.logs import Fault

log = logging.getLogger(__name__)

# limits' moving window (a list of hit timestamps per key, newest first, at
# most `limit` long), for several keys in one call. Each key either acquires
# (refused if it would pass the limit; after one refusal later keys are not
# hit, as flask-limiter stops at the first) or records hits already served.
# Entries older than the window can never count again, so they are popped
# from the old end first: then the length is the count, in O(1) commands.
# Readers of the stock layout (limits' own get_window_stats) see the same answers.
SCRIPT = """
local timestamp, replies, refused = tonumber(ARGV[1]), {}, false
for i, key in ipairs(KEYS) do
    local at = (i - 1) * 4 + 1
    local limit, expiry = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
    local amount, acquire = tonumber(ARGV[at + 3]), ARGV[at + 4] == '1'
    local oldest = redis.call('lindex', key, -1)
    while oldest and tonumber(oldest) < timestamp - expiry do
        redis.call('rpop', key)
        oldest = redis.call('lindex', key, -1)
    end
    local count, outcome = redis.call('llen', key), 1
    if acquire and refused then
        outcome = -1
    elseif acquire and count + amount > limit then
        outcome, refused = 0, true
    elseif amount > 0 then
        local entries = {}
        for n = 1, amount do entries[n] = timestamp end
        for n = 1, #entries, 5000 do
            redis.call('lpush', key, unpack(entries, n, math.min(n + 4999, #entries)))
        end
        redis.call('ltrim', key, 0, limit - 1)
        redis.call('expire', key, expiry)
        count = math.min(count + amount, limit)
    end
    replies[#replies + 1] = outcome
    replies[#replies + 1] = tostring(oldest or timestamp)
    replies[#replies + 1] = count
end
return replies
"""
ACQUIRED, REFUSED = 1, 0


@dataclass
class _View:
    """What this process learnt of one window at its last call to Redis."""

    limit: int
    count: int  # hits in the window then
    reset: float  # when its oldest hit leaves the window
    budget: int  # requests this process may still admit without asking
    until: float  # budget void after this
    used: int = 0  # admitted here since


class BatchedMovingWindow(MovingWindowRateLimiter):
    SHARE = 32
    RECORD_WITHIN = 0.1  # seconds
    CALL_WAIT = 1.0  # seconds a call may be out before those queued behind it give up (~ the socket timeouts)
    MAX_VIEWS = 10_000

    def __init__(self, storage: RedisStorage, redis_down: Fault):
        super().__init__(storage)
        self._script = cast(redis.Redis, storage.get_connection()).register_script(SCRIPT)
        self._prefixed = storage.prefixed_key
        self._redis_down = redis_down  # told of each failed call, and of each answer
        self._lock = threading.Lock()  # views, unrecorded hits, timer
        # One script call at a time per process, so that each reply counts
        # every hit this process recorded before it.
        self._calling = threading.Lock()
        self._turn_since = time.monotonic()  # when the call out now began, or the last one ended
        self._failures = 0  # calls that raised, so far
        self._forget()

    def _forget(self) -> None:
        self._pid = os.getpid()  # a forked child starts afresh: its parent's hits are its parent's
        self._views: dict[str, _View] = {}
        self._unrecorded: dict[str, list] = {}  # key -> [hits, limit, expiry]
        self._timer: threading.Timer | None = None

    def acquire(self, items: tuple[RateLimitItem, ...], *identifiers: str) -> tuple[RateLimitItem, WindowStats, bool]:
        """Hit every item, shortest window first, none after a refusal. The
        limit to report (the one that refused, else the first), its window as
        this hit left it, and whether it refused."""
        keys = [item.key_for(*identifiers) for item in items]
        now = time.time()
        with self._lock:
            if self._pid != os.getpid():
                self._forget()
            views = [view for key in keys if (view := self._views.get(key)) and view.budget > 0 and view.until > now]
            if len(views) == len(keys):
                for key, item, view in zip(keys, items, views, strict=True):
                    view.budget -= 1
                    view.used += 1
                    self._unrecorded.setdefault(key, [0, item.amount, item.get_expiry()])[0] += 1
                if self._timer is None:
                    self._arm()
                first = views[0]
                return items[0], WindowStats(first.reset, first.limit - first.count - first.used), False
        results = self._call([(key, item, 1) for key, item in zip(keys, items, strict=True)], learn=True)
        for item, (outcome, window) in zip(items, results, strict=True):
            if outcome == REFUSED:
                return item, window, True
        return items[0], results[0][1], False

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """flask-limiter's own limits (per address): always asks Redis."""
        key = item.key_for(*identifiers)
        [(outcome, window)] = self._call([(key, item, cost)], learn=False)
        if has_app_context():
            g.setdefault("hub_limit_windows", {})[key] = window
        return outcome == ACQUIRED

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """The window as the hit left it (kept on ``g``): no second round trip."""
        windows = g.get("hub_limit_windows") if has_app_context() else None
        window = windows.get(item.key_for(*identifiers)) if windows else None
        return window or super().get_window_stats(item, *identifiers)

    def _arm(self) -> None:
        timer = threading.Timer(self.RECORD_WITHIN, self._record)
        timer.name, timer.daemon = "hub-limit-record", True
        timer.start()
        self._timer = timer

    def _record(self) -> None:
        try:
            self._call([], learn=False)
        except (RedisError, OSError) as error:  # OSError: TimeoutError from _call too
            self._redis_down.happened("hits admitted meanwhile are dropped", error)  # as on a crash
        except Exception:
            log.exception("Failed to record rate limit hits")  # a bug: dropped too, with its traceback
        finally:
            with self._lock:  # one timer at a time: hits admitted meanwhile get the next
                self._timer = None
                if self._unrecorded and self._pid == os.getpid():
                    self._arm()

    def _call(self, acquiring: list[tuple[str, RateLimitItem, int]], learn: bool) -> list[tuple[int, WindowStats]]:
        """One script call: these hits, and every hit this process admitted
        since its last call. Their outcomes and windows, in order. Views are
        refreshed for the recorded keys, and for the acquired ones if
        ``learn`` (tier limits; flask-limiter's per-address limits never
        admit locally)."""
        self._take_turn()
        try:
            with self._lock:
                if self._pid != os.getpid():
                    self._forget()
                unrecorded, self._unrecorded = self._unrecorded, {}
            if not unrecorded and not acquiring:
                return []
            windows = [(key, hits, limit, expiry, 0) for key, (hits, limit, expiry) in unrecorded.items()]
            windows += [(key, cost, item.amount, item.get_expiry(), 1) for key, item, cost in acquiring]
            args = [time.time()]
            for _key, amount, limit, expiry, acquire in windows:
                args += [limit, expiry, amount, acquire]
            try:
                replies = self._script([self._prefixed(window[0]) for window in windows], args)
            except BaseException:
                self._failures += 1
                raise
            self._redis_down.cleared()
            return self._learn(windows, replies, learn)
        finally:
            self._turn_since = time.monotonic()
            self._calling.release()

    def _take_turn(self) -> None:
        """Wait for the calls ahead while Redis answers them: on a busy
        machine many threads may queue, each call taking its own moment.
        Give up (the caller fails open) once the call out has taken longer
        than CALL_WAIT, or one ahead has failed: Redis is not answering."""
        failures = self._failures
        while not self._calling.acquire(timeout=self.CALL_WAIT / 4):
            if self._failures != failures or time.monotonic() - self._turn_since > self.CALL_WAIT:
                raise TimeoutError("Redis has not answered this process's last rate limit call")
        if self._failures != failures:
            self._calling.release()
            raise TimeoutError("Redis did not answer this process's last rate limit call")
        self._turn_since = time.monotonic()

    def _learn(self, windows: list[tuple], replies: list, learn: bool) -> list[tuple[int, WindowStats]]:
        now, results = time.time(), []
        with self._lock:
            if len(self._views) > self.MAX_VIEWS:
                self._views.clear()
            for (key, _amount, limit, expiry, acquire), at in zip(windows, range(0, len(replies), 3), strict=True):
                count, reset = int(replies[at + 2]), float(replies[at + 1]) + expiry
                # Hits admitted here while the call was out are not in its count.
                since = self._unrecorded[key][0] if key in self._unrecorded else 0
                if learn or not acquire:
                    self._views[key] = _View(
                        limit, count, reset, max(0, (limit - count) // self.SHARE - since), now + expiry / 10, since
                    )
                if acquire:
                    results.append((int(replies[at]), WindowStats(reset, limit - count - since)))
        return results
