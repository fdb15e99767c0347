"""Existing CodeTether clients work unchanged: the official a2a-sdk 0.3.x
client (tests/a2a_v03: a venv of its own, driven through driver.py) against
a live hub (gunicorn, as deployed) with the reference agent worker doing the
work, with the v0.3 names: the card, message/send, tasks/get,
message/stream, tasks/cancel, and another user's task not found."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator

import pytest
from support import DEADLINE_SCALE, free_port, repo_root, wait_for
from support.live_hub import Gunicorn, LiveHub

pytestmark = pytest.mark.sqlite_only  # the live hub's tasks: the REST and A2A tests run the services on both databases

HARNESS = repo_root() / "tests" / "a2a_v03"
TASK_NOT_FOUND = -32001  # A2A's JSON-RPC codes
AGENT = textwrap.dedent("""
    import sys, time
    prompt = sys.stdin.read()
    if "sleep" in prompt:
        time.sleep(300)  # a long job: the test cancels it
    print("done: " + prompt.upper())
""")


@pytest.fixture(scope="module")
def v03_hub(tmp_path_factory, template_db, redis_server) -> Iterator[LiveHub]:
    """One hub (gunicorn, one worker) and one reference agent worker for the module."""
    from hub import create_app
    from hub.services import workers

    folder = tmp_path_factory.mktemp("a2a-v03-hub")
    shutil.copy(template_db, folder / "hub.db")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {
        "HUB_INSTANCE_PATH": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'hub.db'}",
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": "test-secret",
        "HUB_BASE_URL": base,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, value)
        env = {**os.environ, "HUB_WEB_WORKERS": "1", "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics")}
        hub = LiveHub(base, create_app(), Gunicorn(port, env=env))
        try:
            hub.server.wait_ready(base)
            script = folder / "agent.py"
            script.write_text(AGENT)
            with hub.app.app_context():
                token = workers.create_token("a2a-v03-tests")[1]
            hub.agent_worker(token, "--backend", "command", "--command", f"{sys.executable} {script}")
            yield hub
        finally:
            hub.stop()


@pytest.fixture(scope="module")
def v03_client(v03_hub) -> Callable[..., dict]:
    """``v03_client(key, command, *options)``: what the v0.3 client got (driver.py's JSON)."""
    subprocess.run([HARNESS / "setup", sys.executable], check=True)  # quick once made (scripts/test makes it)
    python = HARNESS / ".venv" / "bin" / "python"

    def run(key: str, command: str, *options: str) -> dict:
        done = subprocess.run(
            [python, HARNESS / "driver.py", v03_hub.base, command, *options],
            env={**os.environ, "A2A_API_KEY": key},
            capture_output=True,
            text=True,
            timeout=120 * DEADLINE_SCALE,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run


@pytest.fixture(scope="module")
def user_key(v03_hub) -> Callable[[str], str]:
    """``user_key("ada")``: a new user's API key (every scope)."""
    from hub.services import accounts

    def make(username: str) -> str:
        with v03_hub.app.app_context():
            accounts.create_user(username, tier="enterprise")
            return accounts.create_api_key(username)[1]

    return make


def text_of(artifacts: list[dict]) -> str:
    return "".join(part.get("text", "") for artifact in artifacts for part in artifact["parts"])


def test_the_card_resolves_to_the_hubs_v03_json_rpc_endpoint(v03_hub, v03_client, user_key):
    card = v03_client(user_key("carder"), "card")
    assert card["url"] == v03_hub.url("/connectors/a2a")
    assert card["preferredTransport"] == "JSONRPC"
    assert card["protocolVersion"].startswith("0.3")
    assert card["capabilities"]["streaming"] is True
    assert {"build", "plan", "general", "explore"} <= {skill["id"] for skill in card["skills"]}
    assert "bearer" in card["securitySchemes"]


def test_message_send_answers_the_finished_task_and_tasks_get_reads_it(v03_client, user_key):
    key = user_key("ada")
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


def test_message_stream_follows_the_task_to_completion(v03_client, user_key):
    streamed = v03_client(user_key("lin"), "stream", "--text", "stream it")
    events = [heard["event"] for heard in streamed["events"]]
    assert events[0]["kind"] == "task" and events[0]["status"]["state"] in ("submitted", "working")
    last = events[-1]
    assert last["kind"] == "status-update" and last["status"]["state"] == "completed" and last["final"] is True
    artifacts = [event["artifact"] for event in events if event["kind"] == "artifact-update"]
    assert "STREAM IT" in text_of(artifacts)
    assert streamed["task"]["status"]["state"] == "completed"  # as the client put it together


def test_tasks_cancel_stops_a_running_agent(v03_client, user_key):
    key = user_key("grace")
    task = v03_client(key, "send", "--text", "sleep a while", "--no-wait")["task"]
    assert task["status"]["state"] in ("submitted", "working")
    wait_for(
        lambda: v03_client(key, "get", "--task", task["id"])["task"]["status"]["state"] == "working",
        timeout=60,
        interval=0.2,
        message="the agent to take the task",
    )
    cancelled = v03_client(key, "cancel", "--task", task["id"])["task"]
    assert cancelled["id"] == task["id"] and cancelled["status"]["state"] == "canceled"
    assert v03_client(key, "get", "--task", task["id"])["task"]["status"]["state"] == "canceled"
    # The agent stopped its 300 s job: the one worker takes and finishes the next task.
    after = v03_client(key, "send", "--text", "quick one")["task"]
    assert after["status"]["state"] == "completed"


def test_another_users_task_is_not_found(v03_client, user_key):
    mine = v03_client(user_key("owner"), "send", "--text", "private", "--no-wait")["task"]
    stranger = user_key("stranger")
    for command in ("get", "cancel"):
        answer = v03_client(stranger, command, "--task", mine["id"])
        assert answer["error"]["code"] == TASK_NOT_FOUND, (command, answer)
