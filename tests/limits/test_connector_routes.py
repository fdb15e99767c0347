"""Connector routes go through Blueprint.auth, so they inherit tier limits
and, on actions, Idempotency-Key."""

import pytest

TASK = {"title": "Fix the build", "prompt": "Make CI green"}


@pytest.fixture
def small_limits(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=4/minute")


def test_zapier_actions_count_against_the_tier_and_replay_with_a_key(small_limits, make_user):
    user = make_user("zed")
    headers = {"Idempotency-Key": "zap-1"}
    first = user.post("/connectors/zapier/actions/create_task", json=TASK, headers=headers)
    again = user.post("/connectors/zapier/actions/create_task", json=TASK, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["id"] == first.json["id"]
    assert first.headers["RateLimit-Remaining"] == "3"
    assert user.get("/api/v1/tasks").headers["RateLimit-Remaining"] == "1"  # one bucket for both
    assert len(user.get("/connectors/zapier/triggers/task_completed").json) == 0
    refused = user.get("/api/v1/me")
    assert refused.status_code == 429 and refused.json["code"] == "rate_limited"
