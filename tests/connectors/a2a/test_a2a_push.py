"""A2A push notifications, driven by the official a2a-sdk 1.3 client against a
live hub, a real delivery worker and the reference agent worker: a push
config on a task is one of its callbacks; the agent's question and the
task's end reach a loopback receiver, signed, with the config's token and
authentication, as the A2A task; get, list and delete read the configs
without their secrets; another user's task is not found."""

from __future__ import annotations

import httpx
import pytest
from a2a.types import (
    AuthenticationInfo,
    DeleteTaskPushNotificationConfigRequest,
    GetTaskPushNotificationConfigRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskPushNotificationConfig,
)
from a2a.utils.errors import InvalidParamsError, InvalidRequestError, TaskNotFoundError
from standardwebhooks import Webhook
from support import run_async
from support.a2a_messages import message
from support.delivery import wait_dispatched

pytestmark = pytest.mark.sqlite_only  # the callbacks' SQL runs on both databases in tests/webhooks

PUSH_PATH = "/a2a/push/s3cr3t-path"
TOKEN, CREDENTIALS = "tok-7f3a", "cr-91xq"
PUSHES = True  # this folder's conftest starts the module's hub with deliveries to loopback, quick retries


async def sent_task(client, text: str, **ids: str):
    request = SendMessageRequest(
        message=message(text, **ids), configuration=SendMessageConfiguration(return_immediately=True)
    )
    [event] = [event async for event in client.send_message(request)]
    return event.task


def secret_of(hub, config_id: str) -> str:
    from hub.db import db
    from hub.models import Subscription
    from hub.webhooks import signing

    with hub.app.app_context():
        sealed = db.session.query(Subscription).filter_by(id=config_id).one().secret_sealed
        db.session.remove()
    return signing.unseal(sealed, hub.app.config["SECRET_KEY"])


def test_a_push_config_brings_the_question_and_the_end_signed_with_its_authentication(
    request, a2a_hub, a2a_user, a2a_client, push_worker, receiver
):
    url = receiver.url(PUSH_PATH)
    shown = f"http://127.0.0.1:{receiver.port}/…"

    async def scenario():
        async with a2a_client(a2a_user("pusher"), streaming=False) as client:
            task = await sent_task(client, "ask me first", context_id="ctx-push")
            config = await client.create_task_push_notification_config(
                TaskPushNotificationConfig(
                    task_id=task.id,
                    url=url,
                    token=TOKEN,
                    authentication=AuthenticationInfo(scheme="Bearer", credentials=CREDENTIALS),
                )
            )
            assert config.id.startswith("cb_") and (config.task_id, config.url) == (task.id, url)
            assert not config.token and not config.authentication.credentials  # shown back never
            request.getfixturevalue("a2a_agent")  # the agent starts now: its question comes after the config

            [asked] = receiver.wait_for(1, PUSH_PATH, timeout=120)
            secret = secret_of(a2a_hub, config.id)
            assert Webhook(secret).verify(asked.body, asked.headers)  # signed, as every callback
            assert asked.headers["authorization"] == f"Bearer {CREDENTIALS}"
            assert asked.headers["x-a2a-notification-token"] == TOKEN
            body = asked.json()["task"]
            assert (body["id"], body["contextId"], body["status"]["state"]) == (
                task.id,
                "ctx-push",
                "TASK_STATE_INPUT_REQUIRED",
            )
            assert body["status"]["message"]["parts"][0]["text"] == "Which branch?"

            await sent_task(client, "main", context_id="ctx-push", task_id=task.id)  # the reply resumes it
            [_, ended] = receiver.wait_for(2, PUSH_PATH, timeout=120)
            assert Webhook(secret).verify(ended.body, ended.headers)
            assert ended.headers["x-a2a-notification-token"] == TOKEN
            done = ended.json()["task"]
            assert (done["id"], done["status"]["state"]) == (task.id, "TASK_STATE_COMPLETED")
            assert done["artifacts"][0]["parts"][0]["text"].strip().endswith("done: MAIN")

            got = await client.get_task_push_notification_config(
                GetTaskPushNotificationConfigRequest(task_id=task.id, id=config.id)
            )
            assert (got.id, got.task_id, got.url, got.token) == (config.id, task.id, shown, "")
            listed = await client.list_task_push_notification_configs(
                ListTaskPushNotificationConfigsRequest(task_id=task.id)
            )
            assert [one.id for one in listed.configs] == [config.id]

            async with a2a_client(a2a_user("stranger"), streaming=False) as other:
                for call in (
                    other.get_task_push_notification_config(
                        GetTaskPushNotificationConfigRequest(task_id=task.id, id=config.id)
                    ),
                    other.list_task_push_notification_configs(ListTaskPushNotificationConfigsRequest(task_id=task.id)),
                    other.delete_task_push_notification_config(
                        DeleteTaskPushNotificationConfigRequest(task_id=task.id, id=config.id)
                    ),
                ):
                    with pytest.raises(TaskNotFoundError):
                        await call

            await client.delete_task_push_notification_config(
                DeleteTaskPushNotificationConfigRequest(task_id=task.id, id=config.id)
            )
            listed = await client.list_task_push_notification_configs(
                ListTaskPushNotificationConfigsRequest(task_id=task.id)
            )
            assert list(listed.configs) == []
            with pytest.raises(TaskNotFoundError):
                await client.get_task_push_notification_config(
                    GetTaskPushNotificationConfigRequest(task_id=task.id, id=config.id)
                )

    run_async(scenario)
    wait_dispatched(a2a_hub.app, timeout=30)
    assert len(receiver.received(PUSH_PATH)) == 2  # the question, the end: once each
    text = " ".join(push_worker.lines()) + httpx.get(a2a_hub.url("/"), timeout=30).text
    assert CREDENTIALS not in text and TOKEN not in text and "s3cr3t-path" not in text


def test_a_private_push_url_is_refused_and_a_clients_config_id_is_kept(a2a_user, a2a_client):
    async def scenario():
        async with a2a_client(a2a_user("careful"), streaming=False) as client:
            task = await sent_task(client, "ask about the network", context_id="ctx-private")
            with pytest.raises(InvalidParamsError) as refused:
                await client.create_task_push_notification_config(
                    TaskPushNotificationConfig(task_id=task.id, url="http://10.0.0.7/hook")
                )
            assert [e["field"] for e in refused.value.data["errors"]] == ["url"]
            listed = await client.list_task_push_notification_configs(
                ListTaskPushNotificationConfigsRequest(task_id=task.id)
            )
            assert list(listed.configs) == []

            # A client's own config id: set again, it updates (one config); get and delete take it.
            for path in ("/a2a/first", "/a2a/second"):
                named = TaskPushNotificationConfig(task_id=task.id, id="my-hook", url=f"http://127.0.0.1:9{path}")
                assert (await client.create_task_push_notification_config(named)).id == "my-hook"
            listed = await client.list_task_push_notification_configs(
                ListTaskPushNotificationConfigsRequest(task_id=task.id)
            )
            assert [one.id for one in listed.configs] == ["my-hook"]
            # No id: invalid params naming it, never the task's first config (v0.3's get alone takes the first).
            for call in (
                client.get_task_push_notification_config(GetTaskPushNotificationConfigRequest(task_id=task.id)),
                client.delete_task_push_notification_config(DeleteTaskPushNotificationConfigRequest(task_id=task.id)),
            ):
                with pytest.raises(InvalidParamsError) as unnamed:
                    await call
                assert [e["field"] for e in unnamed.value.data["errors"]] == ["id"]
            listed = await client.list_task_push_notification_configs(
                ListTaskPushNotificationConfigsRequest(task_id=task.id)
            )
            assert [one.id for one in listed.configs] == ["my-hook"]  # still there
            await client.delete_task_push_notification_config(
                DeleteTaskPushNotificationConfigRequest(task_id=task.id, id="my-hook")
            )
            listed = await client.list_task_push_notification_configs(
                ListTaskPushNotificationConfigsRequest(task_id=task.id)
            )
            assert list(listed.configs) == []

    run_async(scenario)


def test_a_push_config_needs_the_read_scope_of_what_it_carries(a2a_user, a2a_client):
    async def scenario():
        async with a2a_client(a2a_user("writer", scopes=["messages:write", "tasks:write"]), streaming=False) as client:
            task = await sent_task(client, "ask for a push", context_id="ctx-writer")
            with pytest.raises(InvalidRequestError) as refused:
                await client.create_task_push_notification_config(
                    TaskPushNotificationConfig(task_id=task.id, url="http://127.0.0.1:9/hook")
                )
            assert "tasks:read" in str(refused.value)

    run_async(scenario)


def test_a_push_config_sent_with_a_message_is_the_new_tasks(a2a_user, a2a_client):
    async def scenario():
        async with a2a_client(a2a_user("sends-with-push"), streaming=False) as client:
            config = TaskPushNotificationConfig(id="with-send", url="http://127.0.0.1:9/hook")  # not delivered here
            configuration = SendMessageConfiguration(return_immediately=True, task_push_notification_config=config)
            request = SendMessageRequest(message=message("Push me the end"), configuration=configuration)
            [event] = [event async for event in client.send_message(request)]
            listed = await client.list_task_push_notification_configs(
                ListTaskPushNotificationConfigsRequest(task_id=event.task.id)
            )
            assert [(one.id, one.task_id) for one in listed.configs] == [("with-send", event.task.id)]

            # A config id too long is refused before the send: no task made.
            config = TaskPushNotificationConfig(id="x" * 256, url="http://127.0.0.1:9/hook")
            configuration = SendMessageConfiguration(return_immediately=True, task_push_notification_config=config)
            request = SendMessageRequest(message=message("Never sent"), configuration=configuration)
            with pytest.raises(InvalidParamsError) as refused:
                [event async for event in client.send_message(request)]
            assert [e["field"] for e in refused.value.data["errors"]] == ["id"]
            tasks = await client.list_tasks(ListTasksRequest())
            assert [task.id for task in tasks.tasks] == [event.task.id]

    run_async(scenario)
