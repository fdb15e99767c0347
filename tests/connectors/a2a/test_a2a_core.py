"""The hub as an A2A agent, driven by the official a2a-sdk 1.3 client over
JSON-RPC against a live hub (gunicorn) with the reference agent worker doing
the work: discovery, send, stream, get, list, cancel, input-required,
isolation between users, sign-in and scopes."""

from __future__ import annotations

import httpx
import pytest
from a2a.types import (
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskState,
)
from support import run_async

pytestmark = pytest.mark.sqlite_only  # the live hub calls the services the REST tests run on both databases

ENDPOINT = "/connectors/a2a"


def message(text: str, *, context_id: str = "", task_id: str = "") -> Message:
    return Message(
        role=Role.ROLE_USER,
        message_id=f"m-{abs(hash((text, context_id, task_id)))}",
        parts=[Part(text=text)],
        context_id=context_id,
        task_id=task_id,
    )


def request(text: str, *, wait: bool = False, **ids: str) -> SendMessageRequest:
    return SendMessageRequest(
        message=message(text, **ids), configuration=SendMessageConfiguration(return_immediately=not wait)
    )


async def one(events):
    """The task a non-streaming send answers."""
    found = [event async for event in events]
    assert len(found) == 1 and found[0].HasField("task"), found
    return found[0].task


def test_the_card_names_the_endpoint_its_versions_skills_and_sign_in(a2a_hub):
    for path in ("/.well-known/agent-card.json", f"{ENDPOINT}/.well-known/agent-card.json"):
        answer = httpx.get(a2a_hub.url(path), timeout=30)  # public: no token
        assert answer.status_code == 200, answer.text
        card = answer.json()
        interfaces = {(i["protocolBinding"], i["protocolVersion"], i["url"]) for i in card["supportedInterfaces"]}
        assert interfaces == {("JSONRPC", "1.0", a2a_hub.url(ENDPOINT)), ("JSONRPC", "0.3", a2a_hub.url(ENDPOINT))}
        assert card["url"] == a2a_hub.url(ENDPOINT) and card["protocolVersion"] == "0.3"  # v0.3 clients' fields
        assert {skill["id"] for skill in card["skills"]} == {"build", "plan", "general", "explore"}
        assert card["capabilities"] == {"streaming": True, "pushNotifications": True}
        schemes = card["securitySchemes"]
        assert schemes["bearer"]["httpAuthSecurityScheme"]["scheme"] == "Bearer"
        oauth = schemes["oauth2"]["oauth2SecurityScheme"]
        assert oauth["oauth2MetadataUrl"] == a2a_hub.url("/.well-known/oauth-authorization-server")


def test_a_message_becomes_a_task_in_its_context_that_the_agent_completes(a2a_user, a2a_client, a2a_agent):
    async def scenario():
        async with a2a_client(a2a_user("sender"), streaming=False) as client:
            task = await one(client.send_message(request("Summarise the repo", context_id="ctx-sender-1")))
            assert task.context_id == "ctx-sender-1" and task.status.state == TaskState.TASK_STATE_SUBMITTED
            assert [part.text for m in task.history for part in m.parts] == ["Summarise the repo"]

            done = await one(client.send_message(request("Name the tests", wait=True, context_id="ctx-sender-1")))
            assert done.status.state == TaskState.TASK_STATE_COMPLETED, done
            [artifact] = done.artifacts
            assert "done: NAME THE TESTS" in artifact.parts[0].text

            first = await client.get_task(GetTaskRequest(id=task.id))
            got = await wait_for_state(client, task.id, TaskState.TASK_STATE_COMPLETED)
            assert first.id == got.id == task.id and "done: SUMMARISE THE REPO" in got.artifacts[0].parts[0].text
            roles = [m.role for m in got.history]
            assert roles == [Role.ROLE_USER, Role.ROLE_AGENT]
            short = await client.get_task(GetTaskRequest(id=task.id, history_length=1))
            assert [m.role for m in short.history] == [Role.ROLE_AGENT]

    run_async(scenario)


async def wait_for_state(client, task_id, state, timeout=120):
    import asyncio
    import time

    deadline = time.monotonic() + timeout * 4
    while True:
        task = await client.get_task(GetTaskRequest(id=task_id))
        if task.status.state == state:
            return task
        assert time.monotonic() < deadline, f"{task_id} never became {TaskState.Name(state)}: {task.status}"
        await asyncio.sleep(0.1)
