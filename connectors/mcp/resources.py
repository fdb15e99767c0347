"""The caller's tasks as MCP resources: ``codetether://tasks/<id>``.

``resources/read`` answers the task's JSON, the same as
``GET /api/v1/tasks/<id>``; ``resources/list`` the caller's newest tasks (a
page at a time); ``resources/templates/list`` the URI template.
``resources/subscribe`` to a task's URI sends
``notifications/resources/updated`` on the session's stream at each change
of it (status, the agent's output, a message), until ``resources/unsubscribe``
or the session ends (``watch.Watch``). Another user's task is not found.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from connectors.base import hub
from connectors.base.declarations import Connector
from connectors.base.endpoint import Bridge, Caller
from connectors.mcp.watch import RESOURCE_SCHEME, SCOPES, allowed, follow_resource, resource_uri, unfollow_resource

MIME = "application/json"
TEMPLATE = RESOURCE_SCHEME + "{task_id}"
LIST_PAGE = 50
# MCP's "resource not found" error code (spec: server/resources, Error Handling).
RESOURCE_NOT_FOUND = -32002


def register(server: Server[Any], bridge: Bridge, connector: Connector) -> None:
    async def read(ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams) -> Any:
        uri = str(params.uri)
        task = await _task(bridge, allowed(ctx, SCOPES["resources/read"]), uri)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=MIME, text=json.dumps(task, ensure_ascii=False))]
        )

    async def listed(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None) -> Any:
        cursor = params.cursor if params is not None else None
        page = int(cursor) if cursor and cursor.isdigit() else 0
        found = await bridge.call(allowed(ctx, SCOPES["resources/list"]), hub.list_tasks, page=page, limit=LIST_PAGE)
        return types.ListResourcesResult(
            resources=[_resource(task) for task in found.items], next_cursor=str(page + 1) if found.more else None
        )

    async def templates(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None) -> Any:
        template = types.ResourceTemplate(
            uri_template=TEMPLATE,
            name="task",
            title="A CodeTether task",
            description="One of your tasks: its status, prompt and, once completed, the agent's result.",
            mime_type=MIME,
        )
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def subscribe(ctx: ServerRequestContext[Any, Any], params: types.SubscribeRequestParams) -> Any:
        task = await _task(bridge, allowed(ctx, SCOPES["resources/subscribe"]), str(params.uri))
        await follow_resource(ctx, bridge, task["id"])
        return types.EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any, Any], params: types.UnsubscribeRequestParams) -> Any:
        allowed(ctx, SCOPES["resources/unsubscribe"])
        uri = str(params.uri)
        if uri.startswith(RESOURCE_SCHEME):
            await unfollow_resource(ctx, bridge, uri[len(RESOURCE_SCHEME) :])
        return types.EmptyResult()

    server.add_request_handler("resources/read", types.ReadResourceRequestParams, read)
    server.add_request_handler("resources/list", types.PaginatedRequestParams, listed)
    server.add_request_handler("resources/templates/list", types.PaginatedRequestParams, templates)
    server.add_request_handler("resources/subscribe", types.SubscribeRequestParams, subscribe)
    server.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, unsubscribe)


def _resource(task: hub.Task) -> types.Resource:
    return types.Resource(
        uri=resource_uri(task["id"]),
        name=task["id"],
        title=task["title"],
        description=f"{task['status']}: {task['title']}",
        mime_type=MIME,
    )


async def _task(bridge: Bridge, who: Caller, uri: str) -> hub.Task:
    """The caller's task at ``uri``; MCP's "resource not found" for any
    other URI, another user's task included."""
    task_id = uri[len(RESOURCE_SCHEME) :] if uri.startswith(RESOURCE_SCHEME) else ""
    try:
        if not task_id or "/" in task_id:
            raise hub.NotFound(f"No resource '{uri}'.")
        return await bridge.call(who, hub.get_task, task_id)
    except hub.NotFound:
        raise MCPError(RESOURCE_NOT_FOUND, "Resource not found", data={"uri": uri}) from None
