"""Find Task answers the newest 100 matching tasks, newest first (Zapier
shows a search's first item; the rest are there for line items)."""

import pytest


@pytest.fixture
def no_tier_limits(hub_env, monkeypatch):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=unlimited")
    monkeypatch.setenv("HUB_TIER_CONCURRENT_TASKS", "free=unlimited")


def test_find_task_answers_the_newest_100(no_tier_limits, alice):
    created = [alice.create_task(title=f"task {n}")["id"] for n in range(101)]
    found = alice.get("/connectors/zapier/searches/find_task")
    assert found.status_code == 200, found.json
    assert [task["id"] for task in found.json] == created[::-1][:100]
