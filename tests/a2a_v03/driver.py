"""An existing CodeTether client, as it talks today: the official a2a-sdk 0.3.x
client, run with tests/a2a_v03/.venv's python (tests/a2a_v03/setup makes it).

    driver.py BASE COMMAND [options]     (the API key in A2A_API_KEY)

It resolves the agent card at BASE/.well-known/agent-card.json, builds its
client from the card (the transport and URL the card names) and sends one
request with the v0.3 method names: message/send, message/stream,
tasks/get, tasks/cancel, tasks/resubscribe, tasks/pushNotificationConfig/set
and /get. It prints one JSON document: what the client got back, or the
JSON-RPC error it raised ({"error": {"code", "message"}}).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from typing import Any

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.client.errors import A2AClientHTTPError, A2AClientJSONRPCError
from a2a.types import (
    AgentCard,
    GetTaskPushNotificationConfigParams,
    Message,
    Part,
    PushNotificationAuthenticationInfo,
    PushNotificationConfig,
    Role,
    TaskIdParams,
    TaskPushNotificationConfig,
    TaskQueryParams,
    TextPart,
)


def dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def message(text: str, context_id: str | None, task_id: str | None) -> Message:
    return Message(
        role=Role.user,
        parts=[Part(root=TextPart(text=text))],
        message_id=str(uuid.uuid4()),
        context_id=context_id,
        task_id=task_id,
    )


async def run(args: argparse.Namespace) -> Any:
    headers = {"Authorization": f"Bearer {os.environ['A2A_API_KEY']}"}
    async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30, read=args.read_timeout)) as http:
        card: AgentCard = await A2ACardResolver(http, args.base).get_agent_card()
        if args.command == "card":
            return dump(card)
        config = ClientConfig(
            streaming=args.command in ("stream", "resubscribe"), polling=args.no_wait, httpx_client=http
        )
        client = ClientFactory(config).create(card)
        if args.command == "send":
            outcome = [event async for event in client.send_message(message(args.text, args.context, args.task))]
            only = outcome[-1]
            return {"task": dump(only[0])} if isinstance(only, tuple) else {"message": dump(only)}
        if args.command in ("stream", "resubscribe"):
            # Each event as it came, with its arrival (monotonic seconds), and the task the client built from them.
            if args.command == "stream":
                events = client.send_message(message(args.text, args.context, args.task))
            else:
                events = client.resubscribe(TaskIdParams(id=args.task))
            heard: list[dict] = []
            task = None
            async for event in events:
                if isinstance(event, Message):
                    return {"message": dump(event)}
                task, update = event
                heard.append({"at": time.monotonic(), "event": dump(update if update is not None else task)})
                print(heard[-1]["event"].get("kind"), file=sys.stderr, flush=True)  # a caller may wait for the first
            return {"events": heard, "task": dump(task) if task else None}
        if args.command == "get":
            return {"task": dump(await client.get_task(TaskQueryParams(id=args.task, history_length=args.history)))}
        if args.command == "cancel":
            return {"task": dump(await client.cancel_task(TaskIdParams(id=args.task)))}
        if args.command == "push-set":
            auth = PushNotificationAuthenticationInfo(schemes=["Bearer"], credentials=args.auth) if args.auth else None
            push = PushNotificationConfig(id=args.config_id, url=args.url, token=args.push_token, authentication=auth)
            config_ = TaskPushNotificationConfig(task_id=args.task, push_notification_config=push)
            return {"config": dump(await client.set_task_callback(config_))}
        if args.command == "push-get":
            params = GetTaskPushNotificationConfigParams(id=args.task, push_notification_config_id=args.config_id)
            return {"config": dump(await client.get_task_callback(params))}
    raise SystemExit(f"unknown command {args.command}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="the hub's URL (the card is at BASE/.well-known/agent-card.json)")
    parser.add_argument(
        "command", choices=["card", "send", "stream", "resubscribe", "get", "cancel", "push-set", "push-get"]
    )
    parser.add_argument("--text", default="hello", help="the message's text (send, stream)")
    parser.add_argument("--context", help="the message's contextId (send, stream)")
    parser.add_argument("--task", help="the task id (a message's taskId for send and stream)")
    parser.add_argument("--no-wait", action="store_true", help="send: blocking false (the client polls)")
    parser.add_argument("--history", type=int, help="get: historyLength")
    parser.add_argument("--url", help="push-set: where the hub posts the task's changes")
    parser.add_argument("--push-token", help="push-set: the token the push carries")
    parser.add_argument("--auth", help="push-set: the Bearer credentials the push carries")
    parser.add_argument("--config-id", help="push-set, push-get: the push config's id")
    parser.add_argument("--read-timeout", type=float, default=120, help="seconds a stream may stay silent")
    args = parser.parse_args()
    try:
        out = asyncio.run(run(args))
    except A2AClientJSONRPCError as error:
        out = {"error": {"code": error.error.code, "message": error.error.message}}
    except A2AClientHTTPError as error:
        out = {"http_error": {"status": error.status_code, "message": error.message}}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
