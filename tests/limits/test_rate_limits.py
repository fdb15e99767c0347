"""Request limits by tier, per user, on every authenticated route."""
import logging
import time

import pytest

from conftest import free_port, wait_for
from hub.embedded_redis import EmbeddedRedis

ROUTES = ("/api/v1/tasks", "/api/v1/me", "/api/v1/codebases")


def hammer(user, count):
    return [user.get(ROUTES[i % len(ROUTES)]) for i in range(count)]


def task_count(app):
    from hub.db import db
    from hub.models import Task

    with app.app_context():
        return db.session.query(Task).count()


def test_free_users_61st_request_in_a_minute_is_429_and_pro_is_unaffected(app, make_user):
    free, pro = make_user("freddy"), make_user("paula", tier="pro")
    responses = hammer(free, 60)
    assert [r.status_code for r in responses] == [200] * 60
    first, last = responses[0].headers, responses[-1].headers
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("60", "59")
    assert (last["RateLimit-Limit"], last["RateLimit-Remaining"]) == ("60", "0")
    assert first["X-RateLimit-Limit"] == "60" and int(first["X-RateLimit-Reset"]) > time.time()
    assert 0 <= int(first["RateLimit-Reset"]) <= 60
    assert "Retry-After" not in first

    refused = free.post("/api/v1/tasks", json={"title": "t", "prompt": "p"})
    assert refused.status_code == 429
    assert refused.json["code"] == "rate_limited"
    assert refused.json["limit"] == 60 and refused.json["tier"] == "free"
    assert refused.json["window_seconds"] == 60
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
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


def test_a_tier_with_several_limits_counts_each_and_reports_the_one_that_refused(two_limits, make_user):
    user = make_user("gina")
    responses = hammer(user, 4)
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert (responses[0].headers["RateLimit-Limit"], responses[0].headers["RateLimit-Remaining"]) == ("5", "4")
    refused = responses[-1]
    assert refused.json["limit"] == 3 and refused.json["window_seconds"] == 3600
    assert (refused.headers["RateLimit-Limit"], refused.headers["RateLimit-Remaining"]) == ("3", "0")
    assert 60 < int(refused.headers["Retry-After"]) <= 3600


@pytest.fixture
def short_window(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=5/4second")


def test_hits_older_than_the_window_stop_counting(short_window, hub_env, make_user):
    import redis

    user = make_user("wendy")
    assert [r.headers["RateLimit-Remaining"] for r in hammer(user, 3)] == ["4", "3", "2"]
    first_hits = time.time()
    wait_for(lambda: time.time() > first_hits + 2, timeout=5, message="half the window to pass")
    assert user.get("/api/v1/me").headers["RateLimit-Remaining"] == "1"  # keeps the key alive
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
