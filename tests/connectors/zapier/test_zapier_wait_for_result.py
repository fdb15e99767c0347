"""Run Task and Wait for Result, Send Message and Wait for Reply, driven by
Zapier's own runtime against a live hub (on loopback), a real delivery worker
and the reference agent worker. Zapier's resume URL (what
``z.generateCallbackUrl()`` gives a step) is a receiver on 127.0.0.1: the
step pauses, the hub calls the URL once, signed, and ``performResume`` with
that body gives the step its result (or fails it, as Zapier then handles)."""

from __future__ import annotations

import json
import sys

import pytest
from standardwebhooks import Webhook
from support import wait_for
from support.delivery import wait_dispatched
from support.zapier_node import connected_runtime

pytestmark = [pytest.mark.sqlite_only, pytest.mark.usefixtures("webhook_settings")]

USERNAME, PASSWORD = "wendy", "correct horse battery"
REPLY = f"{sys.executable} -c \"import sys; print('Reply: ' + sys.stdin.read().strip())\""
RESUME_PATH = "/hooks/catch/resume/8f2k3j-run-token"  # Zapier's are a token in the path


class Step:
    """One paused Zap step: its ``perform``, then ``performResume`` with
    what the hub sent to the step's resume URL."""

    def __init__(self, zap, create: str):
        self.zap, self.create = zap, create

    def perform(self, **input_data) -> dict:
        answer = self.zap.runtime.answer(
            f"creates.{self.create}.operation.perform",
            inputData=input_data,
            callback_url=self.zap.receiver.url(RESUME_PATH),
        )
        assert "error" not in answer, answer
        assert answer["status"] == "CALLBACK", answer  # Zapier pauses the step
        self.pending = answer["results"]
        return self.pending

    def called_back(self) -> dict:
        """The one POST the hub made to the resume URL, its signature checked."""
        [captured] = self.zap.receiver.wait_for(1, RESUME_PATH, timeout=120)
        Webhook(self.zap.callback_secret(self.task_id)).verify(captured.body, captured.headers)
        return captured.json()

    @property
    def task_id(self) -> str:
        return self.pending["task_id"] if self.create.startswith("send_message") else self.pending["id"]

    def resume(self, body: dict) -> dict:
        return self.zap.runtime.answer(
            f"creates.{self.create}.operation.performResume", inputData={}, outputData=self.pending, cleanedRequest=body
        )

    def sent_once(self) -> None:
        """Once the callback's delivery is logged delivered, nothing more comes."""
        wait_for(
            lambda: (self.zap.callback(self.task_id)["delivery"] or {}).get("status") == "delivered",
            30,
            interval=0.05,
            message="the callback delivered",
        )
        wait_dispatched(self.zap.hub.app, timeout=30)
        assert len(self.zap.receiver.received(RESUME_PATH)) == 1


class Zap:
    def __init__(self, hub, runtime, receiver):
        self.hub, self.runtime, self.receiver = hub, runtime, receiver

    def _get(self, path: str) -> dict:
        response = self.hub.api(path, self.runtime.auth_data["access_token"])
        assert response.status_code == 200, response.text
        return response.json()

    def callback(self, task_id: str) -> dict:
        return self._get(f"/api/v1/tasks/{task_id}/callback")

    def task(self, task_id: str) -> dict:
        return self._get(f"/api/v1/tasks/{task_id}")

    def callback_secret(self, task_id: str) -> str:
        """The callback's signing secret, as the hub keeps it (Zapier ignores it)."""
        from hub.db import db
        from hub.models import Subscription
        from hub.webhooks import signing

        with self.hub.app.app_context():
            sealed = db.session.query(Subscription).filter_by(task_id=task_id).one().secret_sealed
            db.session.remove()
            return signing.unseal(sealed, self.hub.app.config["SECRET_KEY"])


@pytest.fixture
def zap(start_hub, delivery_worker, receiver, tmp_path):
    hub = start_hub()
    runtime = connected_runtime(hub, tmp_path / "app", USERNAME, PASSWORD)
    yield Zap(hub, runtime, receiver)
    runtime.stop()


def _error(answer: dict) -> str:
    """The message Zapier shows for a step's error (z.errors.Error's JSON)."""
    assert answer.get("error", {}).get("name") == "AppError", answer
    return json.loads(answer["error"]["message"])["message"]


def test_run_task_and_wait_pauses_then_resumes_with_the_finished_task(zap, worker_token):
    step = Step(zap, "create_task_and_wait")
    pending = step.perform(title="Review PR 42", prompt="Review the diff", external_id="octo/app#42")
    assert pending["status"] == "pending" and pending["external_id"] == "octo/app#42"
    assert pending["callback_url"] == f"http://127.0.0.1:{zap.receiver.port}/…"  # the URL is a secret
    zap.hub.agent_worker(worker_token, "--backend", "command", "--command", REPLY)

    body = step.called_back()
    answer = step.resume(body)
    assert "error" not in answer, answer
    finished = answer["results"]
    assert finished == zap.task(pending["id"])
    assert (finished["id"], finished["status"]) == (pending["id"], "completed")
    assert finished["result"].strip() == "Reply: Review the diff"
    assert finished["duration_seconds"] >= 0 and finished["url"] == f"{zap.hub.base}/tasks/{pending['id']}"
    assert finished["external_id"] == "octo/app#42"
    step.sent_once()


def test_a_failed_task_fails_the_step_with_its_error(zap):
    step = Step(zap, "create_task_and_wait")
    pending = step.perform(title="Fix the build", prompt="Make CI green")
    _fail(zap.hub.app, pending["id"], "The repository is gone.")
    assert _error(step.resume(step.called_back())) == "The repository is gone."
    step.sent_once()


def test_a_cancelled_task_fails_the_step(zap):
    step = Step(zap, "create_task_and_wait")
    pending = step.perform(title="Fix the build", prompt="Make CI green")
    zap.runtime.run("creates.cancel_task.operation.perform", inputData={"task_id": pending["id"]})
    assert _error(step.resume(step.called_back())) == 'The task "Fix the build" was cancelled before it finished.'
    step.sent_once()


def test_send_message_and_wait_resumes_with_the_agents_reply(zap, worker_token):
    step = Step(zap, "send_message_and_wait")
    sent = step.perform(message="Summarise the thread", conversation_id="1701234567.000200")
    assert sent["role"] == "user" and sent["content"] == "Summarise the thread"
    zap.hub.agent_worker(worker_token, "--backend", "command", "--command", REPLY)

    answer = step.resume(step.called_back())
    assert "error" not in answer, answer
    reply = answer["results"]
    assert reply["role"] == "assistant" and reply["content"].strip() == "Reply: Summarise the thread"
    assert (reply["conversation_id"], reply["task_id"]) == ("1701234567.000200", sent["task_id"])
    assert reply["message_id"] == reply["id"] != sent["message_id"]
    step.sent_once()  # the reply only, not its task's completion too


def test_the_resume_url_is_the_apps_to_set(zap):
    """People never see it; without one (not paused by Zapier) the hub refuses, naming it."""
    definition = json.loads((zap.runtime.app_dir / "definition.json").read_text())
    for create in ("create_task_and_wait", "send_message_and_wait"):
        fields = [f["key"] for f in definition["creates"][create]["operation"]["inputFields"]]
        assert "callback_url" not in fields and "callback_format" not in fields
    answer = zap.runtime.answer(
        "creates.create_task_and_wait.operation.perform", inputData={"title": "t", "prompt": "p"}
    )
    assert answer["error"]["name"] == "ResponseError" and "callback_url" in answer["error"]["message"]


def _fail(app, task_id: str, error: str) -> None:
    """The task runs and fails, as an agent worker's report would make it."""
    from hub.db import begin_write, db
    from hub.models import Task
    from hub.services import tasks

    with app.app_context():
        begin_write()  # as the services write: the delivery worker writes meanwhile
        task = db.session.query(Task).filter_by(id=task_id).one()
        tasks.transition(task, "running")
        tasks.transition(task, "failed", error=error)
        db.session.commit()
        db.session.remove()
