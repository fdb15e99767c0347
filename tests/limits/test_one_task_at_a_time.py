"""A tier that allows one unfinished task: the first create is accepted with
none running, the second refused until the first ends."""

import pytest


@pytest.fixture
def one_task_at_a_time(hub_env, monkeypatch):
    monkeypatch.setenv("HUB_TIER_CONCURRENT_TASKS", "free=1")


def test_a_tier_of_one_accepts_the_first_task_and_refuses_the_second(one_task_at_a_time, alice):
    first = alice.create_task()
    refused = alice.post("/api/v1/tasks", json={"title": "second", "prompt": "p"})
    assert refused.status_code == 429, refused.json
    assert (refused.json["code"], refused.json["limit"]) == ("concurrency_limit", 1)
    assert alice.post(f"/api/v1/tasks/{first['id']}/cancel").status_code == 200
    assert alice.post("/api/v1/tasks", json={"title": "third", "prompt": "p"}).status_code == 201
