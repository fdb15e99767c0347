"""The guide's popular automations (connectors/zapier/README.md, "Popular
automations, step by step"), one Zap each: the CodeTether steps run by
Zapier's own runtime against a live hub, a real delivery worker and the
reference agent worker, with the inputs mapped as the guide maps them. The
Slack, Gmail and GitHub steps are outside: their sample fields go in, and each
test checks what the guide's next outside step would receive."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest
from support.zapier_node import connected_runtime

pytestmark = [pytest.mark.sqlite_only, pytest.mark.usefixtures("webhook_settings")]

USERNAME, PASSWORD = "rita", "correct horse battery"
# The agent's answer: quick, and shows which prompt it was given.
REPLY = f"{sys.executable} -c \"import sys; print('Reply: ' + sys.stdin.read().strip())\""


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Zap:
    """A connected Zapier account on a live hub: its CodeTether steps."""

    def __init__(self, hub, runtime, receiver):
        self.hub, self.runtime, self.receiver = hub, runtime, receiver

    def create(self, key: str, **input_data) -> dict:
        return self.runtime.run(f"creates.{key}.operation.perform", inputData=input_data)

    def find(self, search: str, **input_data) -> list[dict]:
        return self.runtime.run(f"searches.{search}.operation.perform", inputData=input_data)

    def run_task_and_wait(self, run: str, **input_data) -> dict:
        """Run Task and Wait for Result as Zapier runs it: perform pauses the
        step, the hub calls the run's resume URL once, performResume gives the
        step's output (the finished task)."""
        path = f"/hooks/catch/resume/{run}"
        paused = self.runtime.answer(
            "creates.create_task_and_wait.operation.perform",
            inputData=input_data,
            callback_url=self.receiver.url(path),
        )
        assert paused.get("status") == "CALLBACK", paused
        [called] = self.receiver.wait_for(1, path, timeout=60)
        answer = self.runtime.answer(
            "creates.create_task_and_wait.operation.performResume",
            inputData={},
            outputData=paused["results"],
            cleanedRequest=called.json(),
        )
        assert "error" not in answer, answer
        return answer["results"]

    def end_tasks(self, outcomes: dict[str, tuple[str, dict]]) -> dict[str, dict]:
        """Tasks titled as ``outcomes``' keys, each run and ended as an agent
        would (its status, and result or error), one after another; by title."""
        from hub.db import begin_write, db
        from hub.models import User
        from hub.services import tasks

        with self.hub.app.app_context():
            user = db.session.query(User).filter_by(username=USERNAME).one()
            for title, (status, outcome) in outcomes.items():
                task_id = tasks.create_task(user, title=title, prompt="p").id
                begin_write()  # as the services write: the delivery worker writes to the same SQLite meanwhile
                row = tasks.get_task(user, task_id)
                tasks.transition(row, "running")
                tasks.transition(row, status, **outcome)
                db.session.commit()
            db.session.remove()
        return {task["title"]: task for task in self.find("find_task", created_after="2000-01-01T00:00:00Z")}


@pytest.fixture
def zap(start_hub, delivery_worker, receiver, tmp_path):
    hub = start_hub()
    runtime = connected_runtime(hub, tmp_path / "app", USERNAME, PASSWORD)
    yield Zap(hub, runtime, receiver)
    runtime.stop()


@pytest.fixture
def agent(zap, worker_token):
    """The reference agent worker, answering every task at once."""
    zap.hub.agent_worker(worker_token, "--backend", "command", "--command", REPLY)


def test_slack_to_ai_development_replies_in_the_thread_with_the_task(zap):
    message = {"text": "Add dark mode to the settings page", "ts": "1765100000.000100"}

    # Step 2, Create Task: Title and Prompt map Text, Agent Type Build, External ID maps Ts.
    task = zap.create(
        "create_task", title=message["text"], prompt=message["text"], agent_type="build", external_id=message["ts"]
    )

    # Step 3, Slack reply in the thread: "On it: task {{Task ID}} — {{Url}}".
    reply = f"On it: task {task['id']} — {task['url']}"
    assert reply == f"On it: task {task['id']} — {zap.hub.base}/tasks/{task['id']}"
    [queued] = zap.find("find_task", external_id=message["ts"])
    assert (queued["id"], queued["status"], queued["agent_type"]) == (task["id"], "pending", "build")
    assert queued["prompt"] == "Add dark mode to the settings page"


def test_email_to_code_review_sends_the_review_in_the_same_zap(zap, agent):
    email = {
        "subject": "Review: PR 42 login fix",
        "body_plain": "Please review the null check in login.py",
        "message_id": "<CAF=r4Hx8@mail.example.com>",
    }

    # Step 2, Run Task and Wait: Title Subject, Prompt Body Plain, Agent Type Plan, External ID Message ID.
    review = zap.run_task_and_wait(
        "email-review",
        title=email["subject"],
        prompt=email["body_plain"],
        agent_type="plan",
        external_id=email["message_id"],
    )

    # Step 3, Gmail Send Email: Subject "Re: {{Subject}}", Body "{{Result}}\n\n{{Url}}".
    body = f"{review['result'].strip()}\n\n{review['url']}"
    assert body == f"Reply: Please review the null check in login.py\n\n{zap.hub.base}/tasks/{review['id']}"
    assert (review["status"], review["agent_type"], review["title"]) == ("completed", "plan", email["subject"])
    assert review["external_id"] == email["message_id"]


def test_github_issue_to_ai_fix_comments_once_per_issue_even_when_the_zap_runs_again(zap, agent):
    issue = {"repo": "octo/app", "number": 42, "title": "Login fails on empty password", "body": "Crash in login.py"}
    external_id = f"{issue['repo']}#{issue['number']}"

    def run_zap(run: str) -> str | None:
        """Steps 2-5; the comment body, or None when the filter stops the run."""
        if zap.find("find_task", external_id=external_id):  # step 2 found it: step 3's filter stops
            return None
        fix = zap.run_task_and_wait(
            run,
            title=issue["title"],
            prompt=f"Fix this issue: {issue['body']}",
            agent_type="build",
            external_id=external_id,
        )
        return f"The AI agent finished: {fix['url']}\n\n{fix['result'].strip()}"  # step 5

    comment = run_zap("issue-first")
    [task] = zap.find("find_task", external_id=external_id)
    assert (
        comment
        == f"The AI agent finished: {zap.hub.base}/tasks/{task['id']}\n\nReply: Fix this issue: Crash in login.py"
    )
    assert task["status"] == "completed"

    assert run_zap("issue-again") is None  # the label added again, or the run replayed
    assert [t["id"] for t in zap.find("find_task", external_id=external_id)] == [task["id"]]


def test_daily_summary_posts_the_days_completed_tasks_in_one_message(zap):
    start = datetime.now(UTC)
    tasks = zap.end_tasks(
        {
            "Fix the login bug": ("completed", {"result": "Fixed a missing null check."}),
            "Upgrade the database": ("failed", {"error": "The repository is gone."}),
            "Speed up CI": ("completed", {"result": "Cached the dependencies."}),
        }
    )
    end = datetime.now(UTC)

    # Step 2, Find Tasks (list): Status Completed, Completed After/Before the day (here: the test's span).
    [digest] = zap.find("find_tasks", status="completed", completed_after=iso(start), completed_before=iso(end))

    # Step 3, Slack message to #team-updates: "{{Summary}}".
    summary = digest["summary"]
    assert summary.startswith("2 completed tasks, completed between ") and digest["count"] == 2
    for title, result in (("Speed up CI", "Cached the dependencies."), ("Fix the login bug", "Fixed a missing")):
        assert f"- {title} (completed " in summary and f"): {tasks[title]['url']}\n  {result}" in summary
    assert summary.index("Speed up CI") < summary.index("Fix the login bug")  # newest first
    assert "Upgrade the database" not in summary
