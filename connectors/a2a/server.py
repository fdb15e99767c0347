"""The A2A endpoint: a2a-sdk's JSON-RPC route (v1.0 method names, and v0.3's
on the same URL through its compat adapter) over the hub-backed handler
(handler.py), mounted by ``connectors.base.endpoint`` at ``/connectors/a2a``
behind the hub's sign-in. Streaming methods answer Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.routes import DefaultServerCallContextBuilder, create_jsonrpc_routes
from a2a.utils.errors import JSON_RPC_ERROR_CODE_MAP, InvalidRequestError
from starlette.applications import Starlette
from starlette.requests import Request

from connectors.a2a.handler import CALLER, HubRequestHandler
from connectors.base import hub
from connectors.base.declarations import Connector
from connectors.base.endpoint import Bridge, caller

# The scope each method needs, as its REST route asks (a message: POST /api/v1/messages; a task read: GET
# /api/v1/tasks/<id>; a cancel: POST .../cancel); refused with the hub's 403 before the method runs.
SCOPES = {
    **dict.fromkeys(("SendMessage", "SendStreamingMessage", "message/send", "message/stream"), "messages:write"),
    **dict.fromkeys(("GetTask", "ListTasks", "SubscribeToTask", "tasks/get", "tasks/resubscribe"), "tasks:read"),
    **dict.fromkeys(("CancelTask", "tasks/cancel"), "tasks:write"),
    **dict.fromkeys(
        ("GetTaskPushNotificationConfig", "ListTaskPushNotificationConfigs"),
        "tasks:read",
    ),
    **dict.fromkeys(("tasks/pushNotificationConfig/get", "tasks/pushNotificationConfig/list"), "tasks:read"),
    **dict.fromkeys(
        ("CreateTaskPushNotificationConfig", "DeleteTaskPushNotificationConfig"),
        "tasks:write",
    ),
    **dict.fromkeys(("tasks/pushNotificationConfig/set", "tasks/pushNotificationConfig/delete"), "tasks:write"),
}


class CallerContext(DefaultServerCallContextBuilder):
    """The SDK's call context, with the hub's caller in its state."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state[CALLER] = caller(request.scope)
        return context


class A2aApp:
    def __init__(self, app: Starlette, handler: HubRequestHandler) -> None:
        self.app, self.handler = app, handler

    async def __call__(self, scope: Any, receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        await self.app(scope, receive, send)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Nothing runs beside requests (each reads the hub when asked); a
        stopping process ends its streams and waits at once (their clients
        come back: SubscribeToTask, GetTask)."""
        loop, stopping = asyncio.get_running_loop(), self.handler.stopping

        def stop() -> None:
            loop.call_soon_threadsafe(stopping.set)

        hub.on_stop(stop)
        yield


def build(bridge: Bridge, connector: Connector) -> A2aApp:
    handler = HubRequestHandler(bridge)
    routes = create_jsonrpc_routes(
        handler,
        rpc_url=f"/connectors/{connector.key}",
        context_builder=CallerContext(),
        enable_v0_3_compat=True,
    )
    return A2aApp(Starlette(routes=routes), handler)


def scope_for(connector: Connector, body: Any) -> str | None:
    method = body.get("method") if isinstance(body, dict) else None
    return SCOPES.get(method) if isinstance(method, str) else None


def refusal(body: Any, message: str, scope: str) -> dict[str, Any]:
    """The 403's body: a JSON-RPC error for the refused request, naming the scope."""
    request_id = body.get("id") if isinstance(body, dict) else None
    error = {
        "code": JSON_RPC_ERROR_CODE_MAP[InvalidRequestError],
        "message": message,
        "data": {"required_scope": scope},
    }
    return {"jsonrpc": "2.0", "id": request_id, "error": error}
