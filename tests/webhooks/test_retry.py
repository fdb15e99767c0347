"""The retry schedule: exponential backoff with jitter over ~3 days,
Retry-After honoured within bounds."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.config import SETTINGS
from hub.webhooks.retry import next_delay, parse_retry_after, parse_schedule

DEFAULT = parse_schedule(next(s.default for s in SETTINGS if s.name == "HUB_WEBHOOK_RETRY_SCHEDULE"))

schedules = st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=12).map(tuple)
unit = st.floats(min_value=0, max_value=1, exclude_max=True)


def test_the_default_schedule_spans_about_three_days():
    assert len(DEFAULT) == 11  # Svix's steps, then 12 h ones
    total = sum(DEFAULT)
    assert 2.5 * 86400 < total < 3.5 * 86400
    assert list(DEFAULT) == sorted(DEFAULT)  # backing off, never speeding up


@given(schedules, st.integers(min_value=1, max_value=12), unit)
def test_delay_is_the_step_with_jitter(schedule, failures, rand):
    delay = next_delay(failures, schedule, rand=rand)
    if failures > len(schedule):
        assert delay is None
    else:
        step = schedule[failures - 1]
        assert 0.8 * step - 1e-9 <= delay <= 1.2 * step + 1e-9


@given(schedules, st.integers(min_value=1, max_value=12), unit, st.floats(min_value=0.001, max_value=1e9))
def test_retry_after_is_honoured_up_to_the_longest_step(schedule, failures, rand, retry_after):
    delay = next_delay(failures, schedule, retry_after=retry_after, rand=rand)
    if failures > len(schedule):
        assert delay is None  # Retry-After never adds attempts
        return
    plain = next_delay(failures, schedule, rand=rand)
    assert delay >= min(retry_after, max(schedule)) - 1e-9
    assert delay >= plain
    assert delay <= max(plain, max(schedule))


def test_jitter_spreads_retries():
    delays = {round(next_delay(1, DEFAULT), 3) for _ in range(50)}
    assert len(delays) > 10


def test_retry_after_header_forms():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("-5") is None


def test_the_jitter_spans_the_step_from_80_to_120_percent():
    assert next_delay(1, (10.0,), rand=0) == 8.0
    assert next_delay(1, (10.0,), rand=0.5) == 10.0
    assert abs(next_delay(1, (10.0,), rand=0.999999) - 12.0) < 1e-4
    assert next_delay(2, (10.0, 100.0), rand=0.5) == 100.0  # the step of the failure's number


def test_no_delay_before_the_first_failure_or_after_the_schedule():
    assert next_delay(0, (10.0,), rand=0.5) is None
    assert next_delay(-1, (10.0,), rand=0.5) is None
    assert next_delay(2, (10.0,), rand=0.5) is None


def test_a_schedule_may_start_at_zero_but_never_go_negative():
    assert parse_schedule("0, 5,300") == (0.0, 5.0, 300.0)
    for bad in ("5,-1", "-0.5"):
        with pytest.raises(ValueError, match="negative"):
            parse_schedule(bad)


def test_retry_after_dates_in_any_zone():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 01:01:30 +0100", now) == 90  # an offset is honoured
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:30 -0000", now) == 90  # no zone: UTC
    assert parse_retry_after(" 30 ") == 30
