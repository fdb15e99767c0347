"""The whole path with real processes: a task created over the API, run by
the reference agent worker, its task.completed webhook at a receiver; and
the delivery worker's sweeper taking back a lapsed lease when no agent
worker is waiting."""

import sys

import pytest
from standardwebhooks import Webhook
from support import wait_for

pytestmark = [
    pytest.mark.sqlite_only,  # the SQLite pass is enough: the agent backends ask nothing more of the database
    pytest.mark.usefixtures("webhook_settings"),
]

REVERSE = f'{sys.executable} -c "import sys; print(sys.stdin.read()[::-1])"'


def test_task_completed_webhook_reaches_a_receiver(live_hub, caller, worker_token, receiver, delivery_worker):
    hook = caller.http.post("/hooks", json={"event": "task.completed", "target_url": receiver.url()}).json()
    live_hub.agent_worker(worker_token, "--backend", "command", "--command", REVERSE)
    task = caller.create_task(title="Reverse", prompt="stressed")

    [captured] = receiver.wait_for(1, timeout=120)
    payload = Webhook(hook["secret"]).verify(captured.body, captured.headers)
    assert payload["type"] == "task.completed"
    data = payload["data"]
    assert data["task_id"] == task["id"] and data["status"] == "completed"
    assert data["result"].strip() == "desserts"
    assert data["started_at"] and data["completed_at"] and data["duration_seconds"] is not None


def test_the_sweeper_takes_back_a_lapsed_lease(app, client, alice, delivery_worker):
    from hub.services import workers

    app.config["HUB_WORKER_LEASE_SECONDS"] = 0.2
    with app.app_context():
        plain = workers.create_token("t")[1]
    headers = {"Authorization": f"Bearer {plain}"}
    task = alice.create_task()
    wid = client.post("/api/v1/worker/register", json={"name": "gone"}, headers=headers).json["worker_id"]
    assert client.post(f"/api/v1/worker/{wid}/claim", json={}, headers=headers).json["task"]["id"] == task["id"]
    # No agent worker claims again: the delivery worker's sweeper notices.
    back = wait_for(
        lambda: (t := alice.get(f"/api/v1/tasks/{task['id']}").json)["status"] == "pending" and t,
        timeout=15,
        interval=0.05,
        message="the task back in pending",
    )
    assert back["retry_count"] == 1
