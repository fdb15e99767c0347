"""Existing CodeTether clients work unchanged: the official a2a-sdk 0.3.x
client (tests/a2a_v03: a venv of its own, driven through driver.py) against
a live hub (gunicorn, as deployed; this folder's conftest) with the reference
agent worker doing the work and a delivery worker sending pushes, with the
v0.3 names: the card, message/send, tasks/get, message/stream,
tasks/resubscribe, tasks/cancel, tasks/pushNotificationConfig/set and /get,
another user's task not found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from support import DEADLINE_SCALE, repo_root, wait_for
from support.delivery import DeliveryWorker
from support.receiver import Receiver

pytestmark = pytest.mark.sqlite_only  # the live hub's tasks: the REST and A2A tests run the services on both databases

HARNESS = repo_root() / "tests" / "a2a_v03"
TASK_NOT_FOUND = -32001  # A2A's JSON-RPC codes
PUSH_PATH = "/v03/push/s3cr3t-path"
TOKEN, CREDENTIALS = "tok-v03", "cr-v03"
PUSHES = True  # this folder's conftest starts the module's hub with deliveries to loopback, quick retries


class V03Client:
    """The v0.3 client against one hub: ``client(key, command, *options)``
    answers what it got (driver.py's JSON); ``client.stream(...)`` keeps a
    stream open while the block runs."""

    python = HARNESS / ".venv" / "bin" / "python"

    def __init__(self, base: str) -> None:
        self.base = base

    def start(self, key: str, command: str, *options: str) -> subprocess.Popen:
        return subprocess.Popen(
            [self.python, HARNESS / "driver.py", self.base, command, *options],
            env={**os.environ, "A2A_API_KEY": key},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def __call__(self, key: str, command: str, *options: str) -> dict:
        return self.answer(self.start(key, command, *options))

    @staticmethod
    def answer(process: subprocess.Popen) -> dict:
        try:
            out, err = process.communicate(timeout=120 * DEADLINE_SCALE)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0, err
        return json.loads(out)

    @contextmanager
    def stream(self, key: str, command: str, *options: str) -> Iterator[SimpleNamespace]:
        """A stream (stream, resubscribe) open once its first event came; what
        it got (``.result``) once it ended, after the block."""
        process = self.start(key, command, *options)
        first = process.stderr.readline()  # the driver names each event there as it comes
        if first.strip() not in ("task", "status-update", "artifact-update"):
            raise AssertionError(f"the stream did not open: {first} {self.answer(process)}")
        opened = SimpleNamespace(result=None)
        try:
            yield opened
        finally:
            opened.result = self.answer(process)


@pytest.fixture(scope="module")
def v03_client(a2a_hub, a2a_agent) -> V03Client:
    subprocess.run([HARNESS / "setup", sys.executable], check=True)  # quick once made (scripts/test makes it)
    return V03Client(a2a_hub.base)


def text_of(artifacts: list[dict]) -> str:
    return "".join(part.get("text", "") for artifact in artifacts for part in artifact["parts"])


def test_the_card_resolves_to_the_hubs_v03_json_rpc_endpoint(a2a_hub, v03_client, a2a_user):
    card = v03_client(a2a_user("carder"), "card")
    assert card["url"] == a2a_hub.url("/connectors/a2a")
    assert card["preferredTransport"] == "JSONRPC"
    assert card["protocolVersion"].startswith("0.3")
    assert card["capabilities"]["streaming"] is True
    assert {"build", "plan", "general", "explore"} <= {skill["id"] for skill in card["skills"]}
    assert "bearer" in card["securitySchemes"]


def test_message_send_answers_the_finished_task_and_tasks_get_reads_it(v03_client, a2a_user):
    key = a2a_user("ada")
    sent = v03_client(key, "send", "--text", "hello agent")["task"]
    assert sent["kind"] == "task" and sent["status"]["state"] == "completed", sent
    assert "HELLO AGENT" in text_of(sent["artifacts"])
    assert sent["contextId"]

    got = v03_client(key, "get", "--task", sent["id"], "--history", "10")["task"]
    assert got["id"] == sent["id"] and got["contextId"] == sent["contextId"]
    assert got["status"]["state"] == "completed"
    assert text_of(got["artifacts"]) == text_of(sent["artifacts"])
    said = [(m["role"], "".join(p.get("text", "") for p in m["parts"])) for m in got["history"]]
    assert ("user", "hello agent") in said

    # A message in the same context is new work in that conversation.
    again = v03_client(key, "send", "--text", "and again", "--context", sent["contextId"])["task"]
    assert again["id"] != sent["id"] and again["contextId"] == sent["contextId"]
    assert again["status"]["state"] == "completed" and "AND AGAIN" in text_of(again["artifacts"])


def test_message_stream_follows_the_task_to_completion(v03_client, a2a_user):
    streamed = v03_client(a2a_user("lin"), "stream", "--text", "stream it")
    events = [heard["event"] for heard in streamed["events"]]
    assert events[0]["kind"] == "task" and events[0]["status"]["state"] in ("submitted", "working")
    last = events[-1]
    assert last["kind"] == "status-update" and last["status"]["state"] == "completed" and last["final"] is True
    artifacts = [event["artifact"] for event in events if event["kind"] == "artifact-update"]
    assert "STREAM IT" in text_of(artifacts)
    assert streamed["task"]["status"]["state"] == "completed"  # as the client put it together


def test_tasks_cancel_stops_a_running_agent_and_ends_its_resubscribed_stream(v03_client, a2a_user):
    key = a2a_user("grace")
    task = v03_client(key, "send", "--text", "sleep a while", "--no-wait")["task"]
    assert task["status"]["state"] in ("submitted", "working")
    wait_for(
        lambda: v03_client(key, "get", "--task", task["id"])["task"]["status"]["state"] == "working",
        timeout=60,
        interval=0.2,
        message="the agent to take the task",
    )
    with v03_client.stream(key, "resubscribe", "--task", task["id"]) as following:  # open before the cancel
        cancelled = v03_client(key, "cancel", "--task", task["id"])["task"]
    assert cancelled["id"] == task["id"] and cancelled["status"]["state"] == "canceled"
    followed = [heard["event"] for heard in following.result["events"]]
    assert followed[0]["kind"] == "task" and followed[0]["status"]["state"] == "working"
    assert (followed[-1]["status"]["state"], followed[-1]["final"]) == ("canceled", True)
    assert v03_client(key, "get", "--task", task["id"])["task"]["status"]["state"] == "canceled"
    # The agent stopped its 300 s job: the one worker takes and finishes the next task.
    after = v03_client(key, "send", "--text", "quick one")["task"]
    assert after["status"]["state"] == "completed"


def test_another_users_task_is_not_found(v03_client, a2a_user):
    mine = v03_client(a2a_user("owner"), "send", "--text", "private", "--no-wait")["task"]
    stranger = a2a_user("stranger")
    for command in ("get", "cancel"):
        answer = v03_client(stranger, command, "--task", mine["id"])
        assert answer["error"]["code"] == TASK_NOT_FOUND, (command, answer)


@pytest.fixture(scope="module")
def pushed(a2a_hub, v03_client, a2a_user) -> dict:
    """A v0.3 client's push config on a task waiting for the user's answer,
    then the answer: what a loopback receiver got when the task ended."""
    receiver = Receiver()
    worker = DeliveryWorker().start()  # the hub's settings are in the environment while its module runs
    try:
        key = a2a_user("v03-pusher")
        task = v03_client(key, "send", "--text", "ask me first", "--no-wait")["task"]
        wait_for(
            lambda: v03_client(key, "get", "--task", task["id"])["task"]["status"]["state"] == "input-required",
            timeout=60,
            interval=0.2,
            message="the agent's question",
        )
        url = receiver.url(PUSH_PATH)
        options = ("--task", task["id"], "--config-id", "v03-hook")
        config = v03_client(key, "push-set", *options, "--url", url, "--push-token", TOKEN, "--auth", CREDENTIALS)
        assert config["config"]["taskId"] == task["id"], config
        assert config["config"]["pushNotificationConfig"]["id"] == "v03-hook"
        got = v03_client(key, "push-get", *options)["config"]
        assert got["pushNotificationConfig"]["url"].startswith(f"http://127.0.0.1:{receiver.port}/")
        assert "token" not in got["pushNotificationConfig"]  # shown back never
        assert v03_client(a2a_user("v03-stranger"), "push-get", *options)["error"]["code"] == TASK_NOT_FOUND

        answered = v03_client(key, "send", "--text", "main", "--task", task["id"], "--context", task["contextId"])
        assert answered["task"]["status"]["state"] == "completed", answered
        [ended] = receiver.wait_for(1, PUSH_PATH, timeout=60)
        return {"task": task, "request": ended}
    finally:
        worker.stop()
        receiver.stop()


def test_a_push_config_set_with_the_v03_names_brings_the_tasks_end(pushed):
    ended = pushed["request"]
    assert ended.headers["x-a2a-notification-token"] == TOKEN
    assert ended.headers["authorization"] == f"Bearer {CREDENTIALS}"
    assert pushed["task"]["id"] in ended.body.decode() and "COMPLETED" in ended.body.decode().upper()


def test_a_push_to_a_v03_config_is_the_v03_task(pushed):
    body = pushed["request"].json()
    assert (body["id"], body["kind"], body["status"]["state"]) == (pushed["task"]["id"], "task", "completed")
