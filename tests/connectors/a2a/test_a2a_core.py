"""The hub as an A2A agent, driven by the official a2a-sdk 1.3 client over
JSON-RPC against a live hub (gunicorn) with the reference agent worker doing
the work: discovery, send, stream, get, list, cancel, input-required,
isolation between users, sign-in and scopes."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    SubscribeToTaskRequest,
    TaskState,
)
from a2a.utils.errors import InternalError, TaskNotCancelableError, TaskNotFoundError
from support import run_async
from support.a2a_messages import message

pytestmark = pytest.mark.sqlite_only  # the live hub calls the services the REST tests run on both databases

ENDPOINT = "/connectors/a2a"


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
            assert task.context_id == "ctx-sender-1"
            assert task.status.state in (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING)  # at once
            assert [part.text for m in task.history for part in m.parts] == ["Summarise the repo"]

            done = await one(client.send_message(request("Name the tests", wait=True, context_id="ctx-sender-1")))
            assert done.status.state == TaskState.TASK_STATE_COMPLETED, done
            [artifact] = done.artifacts
            assert "done: NAME THE TESTS" in artifact.parts[0].text

            got = await client.get_task(GetTaskRequest(id=task.id))  # the agent takes one task at a time: done first
            assert got.id == task.id and got.status.state == TaskState.TASK_STATE_COMPLETED, got
            assert "done: SUMMARISE THE REPO" in got.artifacts[0].parts[0].text
            roles = [m.role for m in got.history]
            assert roles == [Role.ROLE_USER, Role.ROLE_AGENT]
            short = await client.get_task(GetTaskRequest(id=task.id, history_length=1))
            assert [m.role for m in short.history] == [Role.ROLE_AGENT]
            with pytest.raises(TaskNotCancelableError):  # it completed
                await client.cancel_task(CancelTaskRequest(id=task.id))

    run_async(scenario)


def states(events) -> list[str]:
    """The task's states as a stream told them (the task first, then its status updates)."""
    told = []
    for event in events:
        if event.HasField("task"):
            told.append(TaskState.Name(event.task.status.state))
        elif event.HasField("status_update"):
            told.append(TaskState.Name(event.status_update.status.state))
    return told


def test_a_streamed_message_tells_progress_and_ends_with_the_artifact_and_completed(a2a_user, a2a_client, a2a_agent):
    async def scenario():
        async with a2a_client(a2a_user("streamer")) as client:
            events = [event async for event in client.send_message(request("Stream it", context_id="ctx-stream"))]
            told = states(events)
            # The task as it was when the stream began (an idle agent may have claimed it already), to its end.
            assert told[0] in ("TASK_STATE_SUBMITTED", "TASK_STATE_WORKING") and told[-1] == "TASK_STATE_COMPLETED", (
                told
            )
            artifacts = [event.artifact_update for event in events if event.HasField("artifact_update")]
            output = "".join(a.artifact.parts[0].text for a in artifacts if a.artifact.name == "output")
            [result] = [a for a in artifacts if a.artifact.name == "result"]
            assert "working on it" in output and "done: STREAM IT" in result.artifact.parts[0].text
            assert result.last_chunk and events[-1].HasField("status_update")  # the stream ends at the end

            task_id = events[0].task.id
            got = await client.get_task(GetTaskRequest(id=task_id))
            assert got.status.state == TaskState.TASK_STATE_COMPLETED and got.context_id == "ctx-stream"

    run_async(scenario)


def test_list_tasks_filters_by_context_and_state_and_pages(a2a_user, a2a_client):
    async def scenario():
        async with a2a_client(a2a_user("lister"), streaming=False) as client:
            sent = [
                await one(client.send_message(request(f"ask, then list {n}", context_id=f"ctx-list-{n % 2}")))
                for n in range(3)
            ]
            listed = await client.list_tasks(ListTasksRequest())
            assert [task.id for task in listed.tasks] == [task.id for task in reversed(sent)]
            assert listed.total_size == 3 and not listed.next_page_token
            in_context = await client.list_tasks(ListTasksRequest(context_id="ctx-list-0"))
            assert [task.id for task in in_context.tasks] == [sent[2].id, sent[0].id]
            first = await client.list_tasks(ListTasksRequest(page_size=2))
            rest = await client.list_tasks(ListTasksRequest(page_size=2, page_token=first.next_page_token))
            assert [t.id for t in (*first.tasks, *rest.tasks)] == [t.id for t in reversed(sent)]
            await client.cancel_task(CancelTaskRequest(id=sent[1].id))  # an agent may ask: never completes
            cancelled = await client.list_tasks(ListTasksRequest(status=TaskState.TASK_STATE_CANCELED))
            assert [task.id for task in cancelled.tasks] == [sent[1].id] and cancelled.total_size == 1

    run_async(scenario)


def test_cancel_a_running_task_ends_it_canceled(a2a_hub, a2a_user, a2a_client, a2a_agent):
    async def scenario():
        async with a2a_client(a2a_user("canceller")) as client:
            task_id, working = "", None
            async for event in client.send_message(request("sleep a while", context_id="ctx-cancel")):
                if event.HasField("task"):
                    task_id = event.task.id
                if event.HasField("artifact_update"):  # the agent printed: it runs
                    working = event
                    break
            assert working is not None and task_id
            cancelled = await client.cancel_task(CancelTaskRequest(id=task_id))
            assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
            again = await client.cancel_task(CancelTaskRequest(id=task_id))
            assert again.status.state == TaskState.TASK_STATE_CANCELED  # as the REST API: a retry is safe

    run_async(scenario)


def test_the_agent_asks_and_a_reply_in_the_same_context_completes_the_same_task(a2a_user, a2a_client, a2a_agent):
    async def scenario():
        async with a2a_client(a2a_user("asked")) as client:
            events = [event async for event in client.send_message(request("ask me first", context_id="ctx-ask"))]
            assert states(events)[-1] == "TASK_STATE_INPUT_REQUIRED", states(events)
            question = events[-1].status_update.status.message
            assert question.parts[0].text == "Which branch?" and question.role == Role.ROLE_AGENT
            task_id = events[0].task.id

            answered = [e async for e in client.send_message(request("release-2", context_id="ctx-ask"))]
            assert answered[0].task.id == task_id and states(answered)[-1] == "TASK_STATE_COMPLETED", answered
            got = await client.get_task(GetTaskRequest(id=task_id))
            assert "RELEASE-2" in got.artifacts[0].parts[0].text
            assert [m.role for m in got.history] == [Role.ROLE_USER, Role.ROLE_AGENT, Role.ROLE_USER, Role.ROLE_AGENT]

    run_async(scenario)


def test_another_users_task_is_not_found(a2a_user, a2a_client):
    async def scenario():
        async with a2a_client(a2a_user("owner"), streaming=False) as client:
            task = await one(client.send_message(request("Mine", context_id="ctx-owner")))
        async with a2a_client(a2a_user("snoop")) as client:
            for call in (
                client.get_task(GetTaskRequest(id=task.id)),
                client.cancel_task(CancelTaskRequest(id=task.id)),
            ):
                with pytest.raises(TaskNotFoundError):
                    await call
            with pytest.raises(TaskNotFoundError):
                async for _ in client.subscribe(SubscribeToTaskRequest(id=task.id)):
                    pass
            assert list((await client.list_tasks(ListTasksRequest(context_id="ctx-owner"))).tasks) == []
        async with a2a_client(a2a_user("snoop"), streaming=False) as client:
            # The owner's context id is the snoop's own conversation: a new task, none of the owner's messages.
            theirs = await one(client.send_message(request("Me too", context_id="ctx-owner")))
            assert theirs.id != task.id and [p.text for m in theirs.history for p in m.parts] == ["Me too"]

    run_async(scenario)


def test_without_a_token_401_and_without_the_scope_403(a2a_hub, a2a_user):
    body = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "task_x"}}
    headers = {"A2A-Version": "1.0"}
    answer = httpx.post(a2a_hub.url(ENDPOINT), json=body, headers=headers, timeout=30)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")

    reader = a2a_user("reader", scopes=["tasks:read"])
    send = {
        **body,
        "method": "SendMessage",
        "params": {"message": {"role": "ROLE_USER", "messageId": "m1", "parts": [{"text": "hi"}]}},
    }
    refused = httpx.post(
        a2a_hub.url(ENDPOINT), json=send, headers={**headers, "Authorization": f"Bearer {reader}"}, timeout=30
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["data"] == {"required_scope": "messages:write"}
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    read = httpx.post(
        a2a_hub.url(ENDPOINT), json=body, headers={**headers, "Authorization": f"Bearer {reader}"}, timeout=30
    )
    assert read.status_code == 200 and read.json()["error"]["code"] == -32001  # task not found: the scope sufficed


def test_bad_params_are_refused_naming_the_field_and_change_nothing(a2a_hub, a2a_user):
    key = a2a_user("careless")
    headers = {"A2A-Version": "1.0", "Authorization": f"Bearer {key}"}

    def call(method, params):
        body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
        answer = httpx.post(a2a_hub.url(ENDPOINT), json=body, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def violations(answer):
        assert answer["error"]["code"] == -32602, answer  # invalid params
        [bad_request] = [d for d in answer["error"]["data"] if d["@type"].endswith("BadRequest")]
        return {violation["field"] for violation in bad_request["fieldViolations"]}

    no_text = {"message": {"role": "ROLE_USER", "messageId": "m1", "parts": [{"data": {"x": 1}}]}}
    assert violations(call("SendMessage", no_text)) == {"message.parts"}
    assert violations(call("ListTasks", {"pageToken": "next please"})) == {"pageToken"}
    assert violations(call("ListTasks", {"pageSize": -1})) == {"pageSize"}
    assert call("ListTasks", {})["result"]["tasks"] == []  # nothing was made


def test_a_message_with_a_bad_push_config_is_refused_and_makes_no_task(a2a_hub, a2a_user):
    headers = {"A2A-Version": "1.0", "Authorization": f"Bearer {a2a_user('pushy')}"}
    msg = {"role": "ROLE_USER", "messageId": "m1", "parts": [{"text": "Do it and tell me"}], "contextId": "ctx-pushy"}
    for config, field in (
        ({"url": "http://10.0.0.7/hook"}, "url"),  # a private address: the SSRF guard
        ({"url": "http://127.0.0.1:9/hook", "authentication": {"scheme": "Bearer"}}, "authentication"),
    ):
        params = {"message": msg, "configuration": {"returnImmediately": True, "taskPushNotificationConfig": config}}
        body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params}
        answer = httpx.post(a2a_hub.url(ENDPOINT), json=body, headers=headers, timeout=30).json()
        assert answer["error"]["code"] == -32602, answer  # invalid params
        [bad_request] = [d for d in answer["error"]["data"] if d["@type"].endswith("BadRequest")]
        assert [v["field"] for v in bad_request["fieldViolations"]] == [field], answer
    listed = {"jsonrpc": "2.0", "id": 2, "method": "ListTasks", "params": {}}
    answer = httpx.post(a2a_hub.url(ENDPOINT), json=listed, headers=headers, timeout=30).json()
    assert answer["result"]["tasks"] == []  # no task, no conversation: the message changed nothing


def test_a_message_naming_an_agent_type_makes_a_task_for_that_agent(a2a_hub, a2a_user):
    headers = {"A2A-Version": "1.0", "Authorization": f"Bearer {a2a_user('planner')}"}

    def send(text, **where):
        msg = {"role": "ROLE_USER", "messageId": text, "parts": [{"text": text}], **where.get("message", {})}
        params = {"message": msg, "configuration": {"returnImmediately": True}, **where.get("params", {})}
        body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params}
        return httpx.post(a2a_hub.url(ENDPOINT), json=body, headers=headers, timeout=30).json()

    planned = send("Plan the release", message={"metadata": {"agentType": "plan"}})["result"]["task"]
    explored = send("Look around", params={"metadata": {"agentType": "explore"}})["result"]["task"]
    plain = send("Just answer")["result"]["task"]
    assert [t["metadata"]["agentType"] for t in (planned, explored, plain)] == ["plan", "explore", "general"]
    rest = httpx.get(a2a_hub.url(f"/api/v1/tasks/{planned['id']}"), headers=headers, timeout=30).json()
    assert rest["agent_type"] == "plan"  # the hub's task, for the plan agent's workers
    refused = send("Do magic", message={"metadata": {"agentType": "wizard"}})
    assert refused["error"]["code"] == -32602, refused
    [bad_request] = [d for d in refused["error"]["data"] if d["@type"].endswith("BadRequest")]
    assert [v["field"] for v in bad_request["fieldViolations"]] == ["message.metadata.agentType"]


def test_with_every_long_request_place_taken_a_blocking_send_answers_at_once(a2a_hub, a2a_user, a2a_client):
    """Streams and blocking sends hold a web thread each: a process serves at
    most half its threads so (with the live task pages); beyond, a blocking
    send answers the task as it is and a stream is refused, so the API, the
    sign-in and the workers' claims still have threads."""
    places = a2a_hub.app.config["HUB_WEB_THREADS"] // 2

    async def scenario():
        key = a2a_user("crowd")
        async with a2a_client(key, streaming=False) as sender:  # a send that answers at once (a task)
            task = await one(sender.send_message(request("sleep, held open", context_id="ctx-crowd")))
        async with a2a_client(key) as client:
            streams = [aiter(client.subscribe(SubscribeToTaskRequest(id=task.id))) for _ in range(places)]
            try:
                for stream in streams:
                    assert (await anext(stream)).HasField("task")  # open: it holds a place
                with pytest.raises(InternalError):
                    await anext(aiter(client.subscribe(SubscribeToTaskRequest(id=task.id))))
                # Bounded well below the blocking wait's 60 s, for the failure's sake.
                async with a2a_client(key, streaming=False) as sender:
                    answer = await asyncio.wait_for(one(sender.send_message(request("Wait for me", wait=True))), 30)
                assert answer.status.state in (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING)
            finally:
                await client.cancel_task(CancelTaskRequest(id=task.id))  # its streams end, their places free again
                for stream in streams:
                    assert [event async for event in stream][-1].status_update.status.state == (
                        TaskState.TASK_STATE_CANCELED
                    )

    run_async(scenario)


def test_a_stopping_hub_ends_its_streams_at_once(a2a_hub, a2a_user, a2a_client, a2a_agent):
    """gunicorn waits for every request in flight when it stops (up to its
    graceful timeout, 30 s), and an A2A stream lasts as long as its task: it
    must not hold a stop, or a restart, that long; its client subscribes
    again. (The module's last test: it stops the module's hub.)"""

    async def scenario():
        async with a2a_client(a2a_user("stayer")) as client:
            stream = client.send_message(request("sleep through the stop", context_id="ctx-stop"))
            async for event in stream:
                if event.HasField("artifact_update"):  # the agent works: the stream waits for its end
                    break
            started = time.monotonic()
            stopping = asyncio.get_running_loop().run_in_executor(None, a2a_hub.server.stop, 25)

            async def rest_of_stream():
                return [event async for event in stream]

            # It ends when the hub ends it, not at the task's end; bounded, for the failure's sake.
            rest = await asyncio.wait_for(rest_of_stream(), 20)
            assert await stopping == 0, a2a_hub.server.output()[-3000:]
            assert time.monotonic() - started < 20  # not the graceful timeout's 30 s
            assert all(
                not event.HasField("status_update") or event.status_update.status.state == TaskState.TASK_STATE_WORKING
                for event in rest
            )

    run_async(scenario)
