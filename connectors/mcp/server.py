"""The MCP server: the official SDK's lowlevel ``Server`` with the
connector's tools (tools.py), behind its ``StreamableHTTPSessionManager``
(stateful: an ``Mcp-Session-Id`` per client, so notifications reach it on
its GET stream; any process of the hub serves a session: sessions.py), mounted by ``connectors.base.endpoint`` at
``/connectors/mcp``.

Long-running work and resources (``connectors/mcp/tasks.py``,
``connectors/mcp/resources.py``) plug in here: ``build`` calls their
``register(server, bridge, connector)`` when the modules exist, after the
tools are in place, so they may wrap the ``tools/call`` handler
(``server.get_request_handler("tools/call")``) and add their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from importlib import import_module
from importlib.util import find_spec
from typing import Any

import mcp_types as types
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from connectors.base.declarations import Connector
from connectors.base.endpoint import Bridge, Caller, caller
from connectors.mcp import tools, watch
from connectors.mcp.sessions import SharedSessions

EXTENSIONS = ("connectors.mcp.tasks", "connectors.mcp.resources")
INSTRUCTIONS = (
    "CodeTether gives coding tasks to AI agents. create_task starts one and answers at once; the agent takes "
    "minutes: get_task (or find_tasks) shows its status, and its result once it is completed."
)


def caller_of(ctx: ServerRequestContext[Any, Any]) -> Caller:
    """Who sent the request this handler serves (the hub authenticated it)."""
    who = caller(ctx.request.scope) if ctx.request is not None else None
    if who is None:  # only the hub's endpoint reaches this server, always with a caller
        raise MCPError(types.INVALID_REQUEST, "Not signed in.")
    return who


def build(bridge: Bridge, connector: Connector) -> McpApp:
    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        # Every tool, whatever the caller's scopes: the list is the same for all (and cacheable); a call
        # without the tool's scope is refused.
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> Any:
        try:
            op = tools.operation(connector, params.name)
        except tools.Unknown:
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}") from None
        return await tools.call(bridge, caller_of(ctx), op, dict(params.arguments or {}))

    listed = [tools.tool(op) for op in tools.tool_operations(connector)]
    input_schemas = {tool.name: tool.input_schema for tool in listed}
    server: Server[Any] = Server(
        "codetether-hub",
        version=connector.manifest.version,
        title="CodeTether",
        instructions=INSTRUCTIONS,
        # For the SDK's check of a 2026-07-28 call's Mcp-Param-* headers: without it, it runs (and dumps)
        # the whole tools/list on every tools/call with arguments. The list is the same for every caller.
        get_tool_input_schema=input_schemas.get,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    for name in EXTENSIONS:
        if find_spec(name) is not None:
            import_module(name).register(server, bridge, connector)
    return McpApp(SharedSessions(server, bridge))


Receive = Callable[[], Awaitable[Any]]


class McpApp:
    """The session manager as the endpoint's ASGI app. A session belongs to
    the user who opened it, in the space their credential acted in (the SDK
    answers other requests for it 404, as if it did not exist); any of the
    user's credentials for that space may use it, e.g. a refreshed OAuth token."""

    def __init__(self, manager: SharedSessions) -> None:
        self.manager = manager

    async def __call__(self, scope: Any, receive: Receive, send: Any) -> None:
        who = caller(scope)
        if who is not None:
            # The user in the space their credential acts in: a session opened in one space is
            # another's (404) to the same user's credential for a different space.
            space = who.space[0] if who.space else "personal"
            owner = f"codetether-user-{who.user_pk}-space-{space}"
            token = AccessToken(token="", client_id=owner, scopes=sorted(who.scopes), subject=owner)
            scope["user"] = AuthenticatedUser(token)
        async with watch.streaming(self.manager.bridge, scope):  # a GET stream: its session's notifications go here
            await self.manager.handle_request(scope, receive, send)

    def running(self) -> AbstractAsyncContextManager[None]:
        return self.manager.run()


def scope_for(connector: Connector, body: Any) -> str | None:
    """The scope a POST needs beyond a user credential: a tool call, its
    tool's (as its REST route), refused at the HTTP layer as MCP's
    authorization spec asks (403 with ``error="insufficient_scope"``, so an
    OAuth client can ask the user for more)."""
    if isinstance(body, dict) and body.get("method") in watch.SCOPES:  # tasks/*, resources/*: their own
        return watch.SCOPES[body["method"]]
    if not (isinstance(body, dict) and body.get("method") == "tools/call"):
        return None
    params = body.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    try:
        return tools.operation(connector, name).scope if isinstance(name, str) else None
    except tools.Unknown:
        return None  # the server answers an unknown tool


def refusal(body: Any, message: str, scope: str) -> dict[str, Any]:
    """The 403's body: a JSON-RPC error for the refused request (the MCP
    client shows its message), naming the scope."""
    request_id = body.get("id") if isinstance(body, dict) else None
    error = {"code": types.INVALID_REQUEST, "message": message, "data": {"required_scope": scope}}
    return {"jsonrpc": "2.0", "id": request_id, "error": error}
