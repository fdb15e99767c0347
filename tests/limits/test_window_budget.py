"""The budget a process learns from Redis (hub/moving_window.py) is spent
only for a tenth of the window: after that the next request asks Redis,
so what other processes used meanwhile counts."""

import copy
import time

import pytest
import redis
from support import wait_for

# The SQLite pass is enough: the limits are counted and decided in Redis; the
# database only holds the users and their credentials here.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def pro_40(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=60/minute pro=40/minute")


def window_length(store) -> int:
    keys = store.keys("*hub-limit-moving-window*")
    return store.llen(keys[0]) if keys else 0


def test_a_learnt_budget_lapses_after_a_tenth_of_the_window(pro_40, hub_env, make_user):
    from hub import create_app

    store = redis.Redis.from_url(hub_env["REDIS_URL"])
    here = make_user("paula", tier="pro")
    there = copy.copy(here)
    there.client = create_app({"TESTING": True}).test_client()  # another worker: its own limiter state

    assert here.get("/api/v1/me").headers["RateLimit-Remaining"] == "39"  # asked Redis: one request to spare here
    learnt = time.time()  # after the answer: the budget was learnt during the request, up to now (a busy machine)
    assert [there.get("/api/v1/me").status_code for _ in range(39)] == [200] * 39
    wait_for(lambda: window_length(store) == 40, timeout=10, message="the other worker's hits to be recorded")
    wait_for(lambda: time.time() > learnt + 6.1, timeout=10, message="a tenth of the window to pass")
    late = here.get("/api/v1/me")
    assert late.status_code == 429 and late.json["code"] == "rate_limited"  # decided in Redis, not by the budget
    assert window_length(store) == 40


@pytest.fixture
def pro_300(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=60/minute pro=300/minute")


def test_hits_that_cannot_be_recorded_are_one_outage_line(own_redis, pro_300, app, make_user, caplog, monkeypatch):
    """Hits a process admitted itself are recorded by a timer; with Redis
    gone they are dropped with the outage's warning, not a traceback, and
    requests go on being served."""
    import logging

    from hub.moving_window import BatchedMovingWindow

    monkeypatch.setattr(BatchedMovingWindow, "RECORD_WITHIN", 0.5)
    user = make_user("paula", tier="pro")
    assert [user.get("/api/v1/me").status_code for _ in range(4)] == [200] * 4  # one asked Redis, three admitted here
    own_redis.stop()
    caplog.set_level(logging.WARNING)
    wait_for(
        lambda: any("hits admitted meanwhile are dropped" in r.getMessage() for r in caplog.records),
        timeout=10,
        message="the recording timer to meet the outage",
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert user.get("/api/v1/me").status_code == 200  # fails open
