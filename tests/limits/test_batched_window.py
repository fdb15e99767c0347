"""The tier limit asks Redis once every few requests while a user has
plenty left (hub/moving_window.py): exact in one process, recorded for the
others within a moment, and every refusal decided in Redis."""

import copy

import httpx
import pytest
import redis
from support import wait_for
from support.parallel import parallel

# The SQLite pass is enough: the limits are counted and decided in Redis; the
# database only holds the users and their credentials here.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def pro_64(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=60/minute pro=64/minute")


def script_calls(store) -> int:
    return sum(v["calls"] for k, v in store.info("commandstats").items() if k.startswith("cmdstat_eval"))


def window_length(store) -> int:
    keys = store.keys("*hub-limit-moving-window*")
    return store.llen(keys[0]) if keys else 0


def test_one_process_asks_redis_for_a_few_requests_and_records_the_rest_within_a_moment(
    hub_env, make_user, monkeypatch
):
    from hub.moving_window import BatchedMovingWindow

    monkeypatch.setattr(BatchedMovingWindow, "RECORD_WITHIN", 1.0)  # the count below: requests' calls, not the timer's
    store = redis.Redis.from_url(hub_env["REDIS_URL"])
    user = make_user("paula", tier="pro")
    before = script_calls(store)
    remaining = [user.get("/api/v1/me").headers["RateLimit-Remaining"] for _ in range(100)]
    assert remaining == [str(300 - n) for n in range(1, 101)]  # exact, every header
    assert script_calls(store) - before <= 20
    wait_for(lambda: window_length(store) == 100, timeout=5, message="all 100 hits to be recorded in Redis")


def test_another_process_sees_the_hits_and_the_limit_holds_across_processes(pro_64, hub_env, make_user):
    from hub import create_app

    store = redis.Redis.from_url(hub_env["REDIS_URL"])
    here = make_user("paula", tier="pro")
    there = copy.copy(here)
    there.client = create_app({"TESTING": True}).test_client()  # another worker: its own limiter state

    assert [here.get("/api/v1/me").status_code for _ in range(10)] == [200] * 10
    wait_for(lambda: window_length(store) == 10, timeout=5, message="the first worker's hits to be recorded")
    assert there.get("/api/v1/me").headers["RateLimit-Remaining"] == str(64 - 11)

    statuses = [(here if n % 2 else there).get("/api/v1/me").status_code for n in range(60)]
    assert statuses == [200] * 53 + [429] * 7
    assert window_length(store) == 64


def test_threads_of_one_process_each_get_their_own_remaining(app, live_url, make_user):
    user = make_user("tina", tier="pro")
    responses = parallel(40, lambda i: httpx.get(live_url + "/api/v1/me", headers=user.headers, timeout=60))
    assert sorted(int(r.headers["RateLimit-Remaining"]) for r in responses) == list(range(260, 300))
    assert user.get("/api/v1/me").headers["RateLimit-Remaining"] == "259"
