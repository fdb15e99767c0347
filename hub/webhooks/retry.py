"""When to try a failed delivery again: exponential backoff with jitter over
about three days (Svix's schedule by default), honouring the receiver's
``Retry-After`` up to the schedule's longest step."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

JITTER = 0.2  # each delay is scheduled delay * [0.8, 1.2)


def parse_schedule(spec: str) -> tuple[float, ...]:
    """ "5,300,1800" -> (5.0, 300.0, 1800.0). Raises ValueError on nonsense."""
    steps = tuple(float(part) for part in spec.split(",") if part.strip())
    if any(step < 0 for step in steps):
        raise ValueError("retry delays must not be negative")
    return steps


def next_delay(
    failures: int, schedule: tuple[float, ...], retry_after: float | None = None, rand: float | None = None
) -> float | None:
    """Seconds to wait after the ``failures``-th failed attempt in a row, or
    None when the schedule is used up. ``rand`` in [0, 1) picks the jitter
    (random when not given)."""
    if failures < 1 or failures > len(schedule):
        return None
    if rand is None:
        rand = random.random()
    delay = schedule[failures - 1] * (1 - JITTER + 2 * JITTER * rand)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, max(schedule)))
    return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())
