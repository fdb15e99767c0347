"""Zapier's own runtime drives the exported app's triggers against a live hub
(in this process, on loopback), a real delivery worker and, where an agent
must act, the reference agent worker: Task Started, Task Cancelled and New
Message (the agent's replies only), the filters every task trigger takes
(the hub sends Zapier only matching tasks, and lists only them), and the
richer items of every task trigger."""

from __future__ import annotations

import sys

import pytest
from support.delivery import wait_dispatched
from support.zapier_node import Runtime, connected_runtime

# The SQLite pass is enough: Zapier's runtime asks nothing more of the database.
pytestmark = [pytest.mark.sqlite_only, pytest.mark.usefixtures("webhook_settings")]

USERNAME, PASSWORD = "zoe", "correct horse battery"
# The agent: its reply is what it was asked, prefixed.
REPLY = f"{sys.executable} -c \"import sys; print('Reply: ' + sys.stdin.read().strip())\""
TASK_CONTEXT = {"url", "conversation_id", "external_id", "metadata", "codebase_id", "agent_type"}


class Zap:
    """A connected Zapier account on a live hub, and a receiver standing in
    for Zapier's hook URLs."""

    def __init__(self, hub, runtime: Runtime, receiver):
        self.hub, self.runtime, self.receiver = hub, runtime, receiver

    def subscribe(self, trigger: str, **filters) -> dict:
        hook = self.runtime.run(
            f"triggers.{trigger}.operation.performSubscribe",
            targetUrl=self.receiver.url(f"/{trigger}"),
            inputData=filters,
        )
        assert hook["id"].startswith("hook_") and hook["status"] == "active", hook
        return hook

    def delivered(self, trigger: str, count: int = 1) -> list[dict]:
        """What the hub sent to ``trigger``'s hook URL (waiting for ``count``),
        passed through the trigger's ``perform`` as Zapier does."""
        items = []
        for captured in self.receiver.wait_for(count, f"/{trigger}", timeout=120):
            sent = captured.json()
            [performed] = self.runtime.run(f"triggers.{trigger}.operation.perform", cleanedRequest=sent)
            assert performed == sent
            items.append(performed)
        return items

    def sent_to(self, trigger: str) -> list[dict]:
        """Everything the hub has sent to ``trigger``'s hook URL, once every
        event so far has been handed to the hooks."""
        wait_dispatched(self.hub.app, timeout=30)
        return [c.json() for c in self.receiver.received(f"/{trigger}")]

    def listed(self, trigger: str, **filters) -> list[dict]:
        return self.runtime.run(f"triggers.{trigger}.operation.performList", inputData=filters)

    def create_task(self, **fields) -> dict:
        return self.runtime.run("creates.create_task.operation.perform", inputData={"prompt": "p", **fields})

    def cancel(self, task: dict) -> dict:
        return self.runtime.run("creates.cancel_task.operation.perform", inputData={"task_id": task["id"]})

    def codebase(self, name: str) -> str:
        from hub.db import db
        from hub.models import User
        from hub.services import codebases

        with self.hub.app.app_context():
            user = db.session.query(User).filter_by(username=USERNAME).one()
            codebase_id = codebases.create_codebase(user, name=name).id
            db.session.remove()
        return codebase_id


@pytest.fixture
def zap(start_hub, delivery_worker, receiver, tmp_path):
    hub = start_hub()
    runtime = connected_runtime(hub, tmp_path / "app", USERNAME, PASSWORD)
    yield Zap(hub, runtime, receiver)
    runtime.stop()


def test_new_message_sends_and_lists_the_agents_reply_never_the_users_message(zap, worker_token):
    hook = zap.subscribe("new_message")
    assert (hook["event"], hook["role"]) == ("message.created", "assistant")  # filtered at the source
    zap.hub.agent_worker(worker_token, "--backend", "command", "--command", REPLY)
    sent = zap.runtime.run(
        "creates.send_message.operation.perform",
        inputData={
            "message": "Summarise the repo",
            "conversation_id": "1701234567.000200",
            "external_id": "slack:C024BE91L:1701234567.000200",
        },
    )

    [reply] = zap.delivered("new_message")
    assert set(reply) == {
        "id",
        "message_id",
        "conversation_id",
        "content",
        "task_id",
        "created_at",
        "conversation_external_id",
    }
    assert reply["content"].strip() == "Reply: Summarise the repo"
    assert (reply["conversation_id"], reply["task_id"]) == ("1701234567.000200", sent["task_id"])
    assert reply["conversation_external_id"] == "slack:C024BE91L:1701234567.000200"
    assert reply["message_id"] != sent["message_id"] and reply["id"].startswith("evt_")
    # The user's own message is a message.created too (recorded first): never sent, never listed.
    assert zap.sent_to("new_message") == [reply]
    assert zap.listed("new_message") == [reply]


def test_task_triggers_send_and_list_only_tasks_of_the_chosen_codebase_and_agent_type(zap):
    app = zap.codebase("app")
    chosen = {"codebase_id": app, "agent_type": "plan"}
    for trigger in ("new_task", "task_cancelled"):
        hook = zap.subscribe(trigger, **chosen)
        assert (hook["codebase_id"], hook["agent_type"]) == (app, "plan")
    # No agent worker: every task waits, so each can be cancelled.
    elsewhere = zap.create_task(title="Plan, in global", agent_type="plan")
    other_type = zap.create_task(title="Build, in app", codebase_id=app, agent_type="build")
    match = zap.create_task(title="Plan, in app", codebase_id=app, agent_type="plan")
    ended = {task["id"]: zap.cancel(task) for task in (elsewhere, other_type, match)}

    [created] = zap.delivered("new_task")
    [cancelled] = zap.delivered("task_cancelled")
    assert created["task_id"] == cancelled["task_id"] == match["id"]
    assert set(cancelled) == {"id", "task_id", "title", "cancelled_at", *TASK_CONTEXT}
    assert (cancelled["title"], cancelled["cancelled_at"]) == ("Plan, in app", ended[match["id"]]["cancelled_at"])
    assert zap.sent_to("new_task") == [created] and zap.sent_to("task_cancelled") == [cancelled]
    # Zapier's sample list (a Zap's test) applies the same filters; left empty, every task.
    for trigger, item in (("new_task", created), ("task_cancelled", cancelled)):
        assert zap.listed(trigger, **chosen) == [item]
        assert [i["task_id"] for i in zap.listed(trigger, codebase_id=app)] == [match["id"], other_type["id"]]
        assert [i["task_id"] for i in zap.listed(trigger, agent_type="plan")] == [match["id"], elsewhere["id"]]
        assert [i["task_id"] for i in zap.listed(trigger, codebase_id="", agent_type="")] == [
            match["id"],
            other_type["id"],
            elsewhere["id"],
        ]


def test_every_task_trigger_item_carries_the_task_link_caller_refs_codebase_and_agent(zap, worker_token):
    app = zap.codebase("app")
    for trigger in ("new_task", "task_completed", "task_failed"):
        zap.subscribe(trigger)
    zap.subscribe("task_started", agent_type="explore")
    # The agent worker runs explore tasks only: the plan task below waits, then fails.
    zap.hub.agent_worker(worker_token, "--backend", "command", "--command", REPLY, "--agent-type", "explore")
    refs = {"external_id": "octo/app#42", "metadata": {"channel": "C024BE91L"}}
    explored = zap.create_task(title="Map it", prompt="Map the code", codebase_id=app, agent_type="explore", **refs)

    def context(task):
        return {key: task[key] for key in TASK_CONTEXT}

    assert context(explored) == {
        "url": f"{zap.hub.base}/tasks/{explored['id']}",
        "conversation_id": None,
        "codebase_id": app,
        "agent_type": "explore",
        **refs,
    }
    [started] = zap.delivered("task_started")
    assert set(started) == {"id", "task_id", "title", "started_at", *TASK_CONTEXT}
    assert (started["task_id"], started["title"]) == (explored["id"], "Map it")
    assert context(started) == context(explored)

    [completed] = zap.delivered("task_completed")
    assert set(completed) == {"id", "task_id", "title", "result", "duration_seconds", "completed_at", *TASK_CONTEXT}
    assert completed["result"].strip() == "Reply: Map the code"
    assert context(completed) == context(explored)

    planned = zap.create_task(title="Plan it", prompt="Plan the fix", agent_type="plan", **refs)
    _fail(zap.hub.app, planned["id"], "The repository is gone.")
    [failed] = zap.delivered("task_failed")
    assert set(failed) == {"id", "task_id", "error", "retry_count", "failed_at", "title", "prompt", *TASK_CONTEXT}
    assert (failed["title"], failed["prompt"], failed["error"]) == (
        "Plan it",
        "Plan the fix",
        "The repository is gone.",
    )
    assert context(failed) == context(planned)

    new = {item["task_id"]: item for item in zap.delivered("new_task", 2)}
    assert set(new[explored["id"]]) == {
        *("id", "task_id", "title", "status", "codebase_id", "created_at", "agent_type", "prompt"),
        *TASK_CONTEXT,
    }
    assert new[explored["id"]]["prompt"] == "Map the code"
    assert context(new[explored["id"]]) == context(explored) and context(new[planned["id"]]) == context(planned)

    # The plan task started too (as it failed): not of the chosen agent type, so never sent nor listed.
    assert zap.sent_to("task_started") == [started]
    assert zap.listed("task_started", agent_type="explore") == [started]
    assert [i["task_id"] for i in zap.listed("task_started")] == [planned["id"], explored["id"]]
    assert zap.listed("task_failed")[0] == failed and zap.listed("task_completed")[0] == completed


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
