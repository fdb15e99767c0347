"""Zapier's own runtime drives Task Needs Input against a live hub, a real
delivery worker and the reference agent worker: the agent's question reaches
the trigger's hook (and its list, a Zap's test), and the reply through Send
Message to the task's conversation resumes the same task to completion."""

from __future__ import annotations

import sys
import textwrap

import pytest
from support.zapier_node import connected_runtime

# The SQLite pass is enough: Zapier's runtime asks nothing more of the database.
pytestmark = [pytest.mark.sqlite_only, pytest.mark.usefixtures("webhook_settings")]

QUESTION = "Which branch should I deploy?"
# Asks on its first run; once answered (the conversation on stdin), deploys what the user said.
AGENT = textwrap.dedent(f"""
    import os, sys
    prompt = sys.stdin.read()
    if "assistant:" not in prompt:
        with open(os.environ["CODETETHER_QUESTION_FILE"], "w") as question:
            question.write({QUESTION!r})
    else:
        print("Deployed " + prompt.strip().splitlines()[-1])
""")
ITEM_KEYS = {
    *("id", "task_id", "title", "question", "question_message_id", "conversation_id"),
    *("url", "external_id", "metadata", "codebase_id", "agent_type"),
}


def test_task_needs_input_brings_the_question_and_send_message_resumes_the_task(
    start_hub, delivery_worker, receiver, worker_token, tmp_path
):
    hub = start_hub()
    runtime = connected_runtime(hub, tmp_path / "app", "zoe", "correct horse battery")
    try:
        for trigger, event in (("task_needs_input", "task.input_required"), ("task_completed", "task.completed")):
            hook = runtime.run(
                f"triggers.{trigger}.operation.performSubscribe", targetUrl=receiver.url(f"/{trigger}"), inputData={}
            )
            assert (hook["status"], hook["event"]) == ("active", event), hook
        assert runtime.run("triggers.task_needs_input.operation.performList", inputData={}) == []
        script = tmp_path / "agent.py"
        script.write_text(AGENT)
        hub.agent_worker(worker_token, "--backend", "command", "--command", f"{sys.executable} {script}")
        task = runtime.run(
            "creates.create_task.operation.perform",
            inputData={"title": "Deploy", "prompt": "Deploy the app", "external_id": "octo/app#7"},
        )

        [captured] = receiver.wait_for(1, "/task_needs_input", timeout=120)
        [item] = runtime.run("triggers.task_needs_input.operation.perform", cleanedRequest=captured.json())
        assert set(item) == ITEM_KEYS
        assert (item["task_id"], item["title"], item["question"]) == (task["id"], "Deploy", QUESTION)
        assert item["external_id"] == "octo/app#7" and item["url"] == f"{hub.base}/tasks/{task['id']}"
        assert runtime.run("triggers.task_needs_input.operation.performList", inputData={}) == [item]

        sent = runtime.run(
            "creates.send_message.operation.perform",
            inputData={"message": "release-2", "conversation_id": item["conversation_id"]},
        )
        assert sent["task_id"] == task["id"]  # the same task, not a new turn
        [done] = receiver.wait_for(1, "/task_completed", timeout=120)
        completed = done.json()
        assert completed["task_id"] == task["id"] and completed["result"].strip() == "Deployed release-2"
    finally:
        runtime.stop()
