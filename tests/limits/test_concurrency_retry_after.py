"""The concurrency limit's 429 says when to retry as the README does: 30 s,
unless the request limit is used up too, then when its window frees."""

import pytest

TASK = {"title": "Fix the build", "prompt": "Make CI green"}


@pytest.fixture
def seven_a_minute(hub_env, monkeypatch):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=7/minute")


def test_retry_after_is_30_seconds_while_requests_are_left(seven_a_minute, make_user):
    user = make_user("busy")
    for _ in range(5):
        user.create_task()
    sixth = user.post("/api/v1/tasks", json=TASK)
    assert sixth.status_code == 429 and sixth.json["code"] == "concurrency_limit"
    assert sixth.headers["RateLimit-Remaining"] == "1"
    assert sixth.headers["Retry-After"] == "30"

    # The last request of the window: a retry in 30 s would meet the request limit.
    seventh = user.post("/api/v1/tasks", json=TASK)
    assert seventh.status_code == 429 and seventh.json["code"] == "concurrency_limit"
    assert seventh.headers["RateLimit-Remaining"] == "0"
    assert int(seventh.headers["Retry-After"]) == max(30, int(seventh.headers["RateLimit-Reset"]))
    refused = user.post("/api/v1/tasks", json=TASK)
    assert refused.json["code"] == "rate_limited"
