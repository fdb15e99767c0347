"""Request limits by tier, per user, on every authenticated route."""

import logging
import time

import pytest
import redis
from support import free_port, wait_for

from hub.embedded_redis import EmbeddedRedis

# The SQLite pass is enough: the limits are counted and decided in Redis; the
# database only holds the users and their keys here.
pytestmark = pytest.mark.sqlite_only

ROUTES = ("/api/v1/tasks", "/api/v1/me", "/api/v1/codebases")


def hammer(user, count):
    return [user.get(ROUTES[i % len(ROUTES)]) for i in range(count)]


def first_hit(hub_env, limit="60/1/minute"):
    """When the oldest hit in the user's window of ``limit`` was counted
    (Redis keeps the hits' timestamps)."""
    store = redis.Redis.from_url(hub_env["REDIS_URL"])
    (key,) = store.keys(f"*/tier/{limit}")
    return float(store.lindex(key, -1))


def assert_reset(headers, oldest, window, sent, answered):
    """The window resets when its oldest hit leaves it: never reported
    early, at most the rounding up to a whole second late. ``RateLimit-Reset``
    counts from the second the hub answered in (between ``sent`` and
    ``answered``), and never says more than the window."""
    reset_at = int(headers["X-RateLimit-Reset"])
    assert oldest + window <= reset_at <= oldest + window + 1, (reset_at, oldest)
    possible = {min(window, max(0, reset_at - second)) for second in range(int(sent), int(answered) + 1)}
    assert int(headers["RateLimit-Reset"]) in possible, (headers["RateLimit-Reset"], possible)
    return int(headers["RateLimit-Reset"])


def task_count(app):
    from hub.db import db
    from hub.models import Task

    with app.app_context():
        return db.session.query(Task).count()


def test_free_users_61st_request_in_a_minute_is_429_and_pro_is_unaffected(app, hub_env, make_user):
    free, pro = make_user("freddy"), make_user("paula", tier="pro")
    first_sent = time.time()
    first = free.get("/api/v1/me")
    first_answered = time.time()
    responses = [first, *hammer(free, 59)]
    assert [r.status_code for r in responses] == [200] * 60
    last = responses[-1].headers
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("60", "59")
    assert (last["RateLimit-Limit"], last["RateLimit-Remaining"]) == ("60", "0")
    assert first.headers["X-RateLimit-Limit"] == "60" and first.headers["X-RateLimit-Remaining"] == "59"
    oldest = first_hit(hub_env)
    assert first_sent <= oldest <= first_answered
    assert assert_reset(first.headers, oldest, 60, oldest, first_answered) >= 59
    assert "Retry-After" not in first.headers

    sent = time.time()
    refused = free.post("/api/v1/tasks", json={"title": "t", "prompt": "p"})
    answered = time.time()
    assert refused.status_code == 429
    assert refused.json["code"] == "rate_limited"
    assert refused.json["limit"] == 60 and refused.json["tier"] == "free"
    assert refused.json["window_seconds"] == 60
    assert first_hit(hub_env) == oldest  # the refused request counted no hit
    reset_in = assert_reset(refused.headers, oldest, 60, sent, answered)
    assert refused.headers["Retry-After"] == str(max(1, reset_in))
    assert refused.headers["RateLimit-Remaining"] == "0" and refused.headers["RateLimit-Limit"] == "60"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert task_count(app) == 0  # the refused create created nothing

    assert all(r.status_code == 200 for r in hammer(pro, 61))
    assert pro.get("/api/v1/me").headers["RateLimit-Remaining"] == str(300 - 62)


def test_admins_are_exempt_and_enterprise_is_unlimited(make_user):
    admin = make_user("root", is_admin=True)
    big = make_user("bigco", tier="enterprise")
    for user in (admin, big):
        responses = hammer(user, 70)
        assert {r.status_code for r in responses} == {200}
        assert "RateLimit-Limit" not in responses[-1].headers


@pytest.fixture
def small_limits(monkeypatch, hub_env):
    """Set before the app is built: ``app`` reads the environment."""
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=3/minute pro=5/minute enterprise=unlimited")


def test_limits_come_from_settings_and_cover_all_routes_together(small_limits, make_user):
    user = make_user("carol")
    assert [r.status_code for r in hammer(user, 4)] == [200, 200, 200, 429]
    assert user.post("/api/v1/messages", json={"message": "hi"}).status_code == 429


def test_unauthenticated_requests_do_not_count_against_the_user(small_limits, client, make_user):
    user = make_user("dave")
    for _ in range(5):
        assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer ct_wrong"}).status_code == 401
    assert [r.status_code for r in hammer(user, 3)] == [200] * 3


def test_429_is_in_the_openapi_document(client):
    spec = client.get("/openapi.json").json
    for path, method in (("/api/v1/tasks", "post"), ("/api/v1/tasks", "get"), ("/api/v1/me", "get")):
        response = spec["paths"][path][method]["responses"]["429"]
        assert {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(response["headers"])
    schema = spec["components"]["schemas"]["LimitError"]["properties"]
    assert {"code", "limit", "tier"} <= set(schema)


def test_each_app_keeps_its_own_limiter_state(hub_env, make_user, tmp_path):
    """Apps built later in the same process (other settings, another Redis)
    do not change an earlier app's limits."""
    from hub import create_app

    user = make_user("erin")
    other_redis = EmbeddedRedis(tmp_path / "other-redis", port=free_port()).start()
    try:
        create_app({"RATELIMIT_ENABLED": False, "REDIS_URL": other_redis.url})
        later = create_app({"HUB_TIER_RATE_LIMITS": {"free": "2/minute"}, "REDIS_URL": other_redis.url})
        assert [r.status_code for r in hammer(user, 3)] == [200] * 3  # still 60/minute
        other_redis.stop()  # the first app does not use the later apps' Redis
        assert user.get("/api/v1/me").headers["RateLimit-Remaining"] == "56"
        assert later.extensions["hub_limiter"] is not user.client.application.extensions["hub_limiter"]
    finally:
        other_redis.stop()


def test_changing_the_strategy_under_live_keys_keeps_limits_working(hub_env, make_user, caplog):
    """Each strategy has its own key prefix, so no WRONGTYPE on old keys."""
    from hub import create_app

    user = make_user("frank")
    assert user.get("/api/v1/me").headers["RateLimit-Remaining"] == "59"
    for strategy in ("fixed-window", "sliding-window-counter", "moving-window"):
        user.client = create_app({"TESTING": True, "RATELIMIT_STRATEGY": strategy}).test_client()
        assert user.get("/api/v1/me").headers["RateLimit-Remaining"] == ("58" if strategy == "moving-window" else "59")
    assert not [r for r in caplog.records if r.name == "hub.limits" and r.levelno >= logging.WARNING]


@pytest.fixture
def two_limits(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=5/minute;3/hour")


def test_a_tier_with_several_limits_counts_each_and_reports_the_one_that_refused(two_limits, hub_env, make_user):
    user = make_user("gina")
    responses = hammer(user, 3)
    sent = time.time()
    responses.append(user.get(ROUTES[0]))
    answered = time.time()
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert (responses[0].headers["RateLimit-Limit"], responses[0].headers["RateLimit-Remaining"]) == ("5", "4")
    refused = responses[-1]
    assert refused.json["limit"] == 3 and refused.json["window_seconds"] == 3600
    assert (refused.headers["RateLimit-Limit"], refused.headers["RateLimit-Remaining"]) == ("3", "0")
    reset_in = assert_reset(refused.headers, first_hit(hub_env, "3/1/hour"), 3600, sent, answered)
    assert refused.headers["Retry-After"] == str(reset_in) and reset_in > 3500


@pytest.fixture
def short_window(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=5/4second")


def test_hits_older_than_the_window_stop_counting(short_window, hub_env, make_user):
    import redis

    user = make_user("wendy")
    assert [r.headers["RateLimit-Remaining"] for r in hammer(user, 3)] == ["4", "3", "2"]
    first_hits = time.time()
    wait_for(lambda: time.time() > first_hits + 2, timeout=5, message="half the window to pass")
    sent = time.time()
    later = user.get("/api/v1/me").headers
    answered = time.time()
    assert later["RateLimit-Remaining"] == "1"  # keeps the key alive
    assert (
        assert_reset(later, first_hit(hub_env, "5/4/second"), 4, sent, answered) <= 3
    )  # the time left, not the window
    wait_for(lambda: time.time() > first_hits + 4.1, timeout=5, message="the first hits to leave the window")
    assert user.get("/api/v1/me").headers["RateLimit-Remaining"] == "3"
    # The expired hits are gone from Redis, not just skipped: the list is the window.
    store = redis.Redis.from_url(hub_env["REDIS_URL"])
    (key,) = store.keys("*hub-limit-moving-window*")
    assert store.llen(key) == 2


@pytest.fixture
def mixed_units(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=5/120second;10/minute")


def test_several_limits_report_the_shortest_window_whatever_its_unit(mixed_units, make_user):
    first = make_user("hana").get("/api/v1/me")
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("10", "9")


@pytest.fixture
def one_a_second(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=1/second")


def test_a_refusal_in_a_one_second_window_says_retry_after_one_second(one_a_second, make_user):
    user = make_user("ike")

    def refused():
        answers = [user.get("/api/v1/me") for _ in range(2)]
        return answers[1] if answers[1].status_code == 429 else None  # on a busy machine the two may be a second apart

    headers = wait_for(refused, timeout=30, message="a second request within the second").headers
    assert headers["Retry-After"] == "1" and int(headers["RateLimit-Reset"]) <= 1
