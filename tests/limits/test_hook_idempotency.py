"""POST /api/v1/hooks takes an Idempotency-Key like every create: a retry
gets the same hook and its secret again, and subscribes nothing more."""

import pytest

pytestmark = pytest.mark.usefixtures("webhook_settings")  # hooks may point at this machine


def test_retried_subscribe_replays_the_hook_and_its_secret(alice, receiver):
    body = {"event": "task.completed", "target_url": receiver.url()}
    first = alice.post("/api/v1/hooks", json=body, headers={"Idempotency-Key": "hook-1"})
    again = alice.post("/api/v1/hooks", json=body, headers={"Idempotency-Key": "hook-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert again.json["secret"].startswith("whsec_")
    assert [h["id"] for h in alice.get("/api/v1/hooks").json] == [first.json["id"]]
