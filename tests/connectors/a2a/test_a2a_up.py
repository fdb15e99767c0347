"""The A2A endpoint under `codetether-hub up` (gunicorn gthread and its
embedded Redis), as a user runs it: the card at the hub's root, a streamed
message (no agent worker here: the task waits, submitted), and a stop that
ends the open stream at once rather than waiting for it."""

import asyncio

import pytest
from a2a.types import Message, Part, Role, SendMessageRequest, TaskState
from support import free_port, run_async
from support.up_hub import UpHub

pytestmark = pytest.mark.sqlite_only  # up runs on its own SQLite database


def test_a_stream_under_up_and_a_stop_that_ends_it(tmp_path, a2a_client_for):
    hub = UpHub(tmp_path / "instance", free_port())
    try:

        async def scenario():
            async with a2a_client_for(hub.base, hub.api_key()) as client:
                message = Message(role=Role.ROLE_USER, message_id="m-up", parts=[Part(text="Say hello")])
                stream = client.send_message(SendMessageRequest(message=message))
                first = await anext(stream)
                assert first.task.status.state == TaskState.TASK_STATE_SUBMITTED, first
                stopping = asyncio.get_running_loop().run_in_executor(None, hub.stop)

                async def rest_of_stream():
                    return [event async for event in stream]

                await asyncio.wait_for(rest_of_stream(), 30)  # ends with the stop, not with the task
                return await stopping

        code, seconds = run_async(scenario)
    finally:
        if hub.process.poll() is None:
            hub.stop()
    assert code == 0, hub.output()
    assert seconds < 20, hub.output()  # the stream did not hold the stop
