"""Two waiting Zap steps on one task, driven by Zapier's own runtime against a
live hub, a real delivery worker and the reference agent worker: Run Task and
Wait for Result starts a task whose agent asks a question; Send Message and
Wait for Reply answers it in the task's conversation. Both steps pause, and
each is resumed once, by its own signed callback (the reply; the finished
task), where the reply's step used to be refused (409, the task "already has
a callback")."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from support import wait_for
from support.agents import asking_agent
from support.delivery import wait_dispatched
from support.zapier_node import connected_runtime

# The SQLite pass is enough: the callbacks' SQL is the delivery tests'.
pytestmark = [pytest.mark.sqlite_only, pytest.mark.usefixtures("webhook_settings")]

TASK_RESUME, REPLY_RESUME = "/hooks/catch/resume/task-token", "/hooks/catch/resume/reply-token"


def _paused(runtime, create: str, resume_url: str, **input_data) -> dict:
    answer = runtime.answer(f"creates.{create}.operation.perform", inputData=input_data, callback_url=resume_url)
    assert "error" not in answer, answer
    assert answer["status"] == "CALLBACK", answer  # Zapier pauses the step
    return answer["results"]


def _resumed(runtime, create: str, paused: dict, call) -> dict:
    """The paused step's performResume on its callback's request (``call``)."""
    answer = runtime.answer(
        f"creates.{create}.operation.performResume", inputData={}, outputData=paused, cleanedRequest=call.json()
    )
    assert "error" not in answer, answer
    return answer["results"]


def _secrets(app, task_id: str) -> list[str]:
    """The signing secrets of the task's callbacks, as the hub keeps them."""
    from hub.db import db
    from hub.models import Subscription
    from hub.webhooks import signing

    with app.app_context():
        sealed = [s.secret_sealed for s in db.session.query(Subscription).filter_by(task_id=task_id)]
        db.session.remove()
    return [signing.unseal(one, app.config["SECRET_KEY"]) for one in sealed]


def _signed_by_one(captured, secrets: list[str]) -> None:
    verified = 0
    for secret in secrets:
        try:
            Webhook(secret).verify(captured.body, captured.headers)
            verified += 1
        except WebhookVerificationError:
            pass
    assert verified == 1


def test_send_message_and_wait_after_run_task_and_wait_on_the_same_task(
    start_hub, delivery_worker, receiver, worker_token, tmp_path
):
    hub = start_hub()
    runtime = connected_runtime(hub, tmp_path / "app", "quinn", "correct horse battery")
    try:
        token = runtime.auth_data["access_token"]
        task = _paused(runtime, "create_task_and_wait", receiver.url(TASK_RESUME), title="Deploy", prompt="Deploy it")
        hub.agent_worker(worker_token, "--backend", "command", "--command", asking_agent(tmp_path))
        asked = wait_for(
            lambda: (got := hub.api(f"/api/v1/tasks/{task['id']}", token).json())["status"] == "input_required" and got,
            120,
            interval=0.2,
            message="the agent's question",
        )

        sent = _paused(
            runtime,
            "send_message_and_wait",
            receiver.url(REPLY_RESUME),
            message="release-2",
            conversation_id=asked["conversation_id"],
        )
        assert sent["task_id"] == task["id"]  # the answer resumes the same task

        [reply_call] = receiver.wait_for(1, REPLY_RESUME, timeout=120)
        [task_call] = receiver.wait_for(1, TASK_RESUME, timeout=120)
        secrets = _secrets(hub.app, task["id"])
        assert len(secrets) == 2
        _signed_by_one(reply_call, secrets)
        _signed_by_one(task_call, secrets)
        replied = _resumed(runtime, "send_message_and_wait", sent, reply_call)
        assert replied["role"] == "assistant"
        assert replied["content"].strip() == "Deployed release-2"
        finished = _resumed(runtime, "create_task_and_wait", task, task_call)
        assert (finished["id"], finished["status"]) == (task["id"], "completed")
        assert finished["result"].strip() == "Deployed release-2"

        wait_dispatched(hub.app, timeout=30)  # nothing more comes: each callback once
        assert len(receiver.received(TASK_RESUME)) == len(receiver.received(REPLY_RESUME)) == 1
    finally:
        runtime.stop()
