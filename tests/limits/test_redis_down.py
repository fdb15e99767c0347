"""Redis stopped mid-test: requests are served (limits fail open, with a
warning), nothing answers 500, tasks created meanwhile are kept."""

import logging

import pytest

TASK = {"title": "Fix the build", "prompt": "Make CI green"}


@pytest.fixture
def small_limits(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=8/minute")


def test_redis_stopped_mid_test(own_redis, small_limits, app, make_user, caplog):
    user = make_user("rita")
    assert user.get("/api/v1/tasks").headers["RateLimit-Remaining"] == "7"
    before = user.create_task()

    own_redis.stop()
    caplog.set_level(logging.WARNING, logger="hub.limits")
    statuses = []
    for i in range(12):  # past the limit of 8: not enforced while Redis is down
        response = user.get("/api/v1/tasks") if i % 2 else user.post("/api/v1/tasks", json=TASK)
        statuses.append(response.status_code)
        assert "RateLimit-Limit" not in response.headers
    assert 500 not in statuses
    # The concurrent-task limit lives in the database and still holds.
    assert statuses[::2] == [201, 201, 201, 201, 429, 429]
    assert any(
        "not enforced while Redis is unreachable" in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.records
    )
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)

    user.post(f"/api/v1/tasks/{before['id']}/cancel")
    replayed = [user.post("/api/v1/tasks", json=TASK, headers={"Idempotency-Key": "down"}) for _ in range(2)]
    assert [r.status_code for r in replayed] == [201, 201] and replayed[1].json == replayed[0].json

    own_redis.start()  # back: limits apply again, counted afresh
    tasks = user.get("/api/v1/tasks")
    assert tasks.status_code == 200 and int(tasks.headers["RateLimit-Remaining"]) < 8
    assert len(tasks.json) == 6  # one before, four while Redis was down, one replayed create
    for _ in range(8):
        last = user.get("/api/v1/me")
    assert last.status_code == 429 and last.json["code"] == "rate_limited"
    # The outage is logged when it starts and when Redis answers again, not on every request.
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.limits"]
    assert len(lines) == 2 and "cleared after" in lines[1], lines
