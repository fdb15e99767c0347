"""MCP sessions every process of the hub serves.

gunicorn hands a client's requests to any of its workers (and recycles
workers now and then), while the SDK's ``StreamableHTTPSessionManager``
keeps a session in the process that opened it: elsewhere its
``Mcp-Session-Id`` would answer 404 and the client would have to start over.
So an opened session is also kept as a small record in the hub's Redis
(``Bridge.remember``: its owner, and the client's ``initialize``), and a
process that meets an ID it does not hold, for the same user, takes the
session up from that record: a session of its own under that ID, already
initialized with the client's own capabilities. Nothing else lives in a
session here (tools and tasks read the database), so the copies agree.

A 2026-07-28 request (no session) that cannot send notifications, as a
``tools/call`` without a progress token, is answered in the SDK's JSON mode
(``QUICK``): its SSE mode would run the call beside a watch for the client
leaving, deferring its answer through a stream, which was about half of the
SDK's CPU for a call; the client reads the same JSON answer either way.

This leans on the manager's internals (its session table and task group, its
2026-07-28 entry): setup.cfg pins mcp to 2.3.x, and
tests/connectors/mcp/test_mcp_transport.py checks a session moving between
two hub processes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any

import anyio
import mcp_types as types
from anyio.abc import TaskStatus
from mcp.server._streamable_http_modern import handle_modern_request
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, AuthorizationContext, authorization_context
from mcp.server.connection import Connection
from mcp.server.lowlevel import Server
from mcp.server.runner import serve_connection
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import DEFAULT_SESSION_IDLE_TIMEOUT, StreamableHTTPSessionManager
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher, progress_token_from_params
from mcp.shared.transport_context import TransportContext
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

from connectors.base.endpoint import Bridge, body
from connectors.mcp import watch

log = logging.getLogger(__name__)

# How long a session's record is kept after it opened: a day of work in one assistant session.
RECORD_SECONDS = 24 * 3600
Scope = MutableMapping[str, Any]
# 2026-07-28 methods answered at once (no wait, no notification on their answer) when without a progress token.
QUICK = frozenset({"server/discover", "ping", "tools/list", "tools/call", "resources/list", "resources/read"})


class SharedSessions(StreamableHTTPSessionManager):
    def __init__(self, server: Server[Any], bridge: Bridge) -> None:
        super().__init__(server, session_idle_timeout=DEFAULT_SESSION_IDLE_TIMEOUT)
        self.bridge = bridge
        self.streams: dict[str, anyio.Event] = {}  # a session's GET stream here: set once it has ended

    async def _handle_request(self, scope: Scope, receive: Any, send: Any) -> None:
        if _quick(scope):
            as_json = True  # the SDK's JSON mode, for this request alone
            await handle_modern_request(
                self.app, self.security_settings, as_json, self._lifespan_state, scope, receive, send
            )
            return
        await super()._handle_request(scope, receive, send)

    async def _handle_stateful_request(self, scope: Scope, receive: Any, send: Any) -> None:
        session_id = _header(scope, MCP_SESSION_ID_HEADER)
        requestor = _requestor(scope)
        if session_id and session_id not in self._server_instances and requestor is not None:
            await self._take_up(session_id, requestor, scope)
        if session_id and scope["method"] == "GET" and session_id in self._server_instances:
            await self._stream(session_id, scope, receive, send)
            return
        await super()._handle_stateful_request(scope, receive, send)
        if session_id and scope["method"] == "DELETE" and session_id not in self._server_instances:
            await self.bridge.forget(_name(session_id))  # ended by its client: no process takes it up again

    async def _stream(self, session_id: str, scope: Scope, receive: Any, send: Any) -> None:
        """A session's GET stream: the newest wins. A client opens a new one
        when its connection dropped, which the hub (a WSGI server) notices only
        at its next write to it; the SDK would answer the new one 409 until then
        and hold a thread for the old one."""
        old = self.streams.get(session_id)
        if old is not None:
            self._server_instances[session_id].close_standalone_sse_stream()
            with anyio.move_on_after(5):  # its clean-up must not take the new stream's place
                await old.wait()
        ended = self.streams[session_id] = anyio.Event()
        try:
            await super()._handle_stateful_request(scope, receive, send)
        finally:
            ended.set()
            if self.streams.get(session_id) is ended:
                del self.streams[session_id]

    async def _serve_opening_request(
        self, http_transport: StreamableHTTPServerTransport, scope: Scope, receive: Any, send: Any
    ) -> None:
        session_id = http_transport.mcp_session_id
        requestor = _requestor(scope)

        async def recorded_send(message: Any) -> None:
            # The session's record is shared before its opening answer leaves: the client's next request (its
            # GET stream, say) may reach another process at once, which takes the session up from the record.
            accepted = message["type"] == "http.response.start" and message["status"] < 400
            if accepted and session_id and requestor is not None:  # the client initialized it
                opening = json.loads(body(scope) or b"{}")
                client = opening.get("params") if isinstance(opening, dict) else None
                record = {"owner": dict(requestor), "client": client}
                await self.bridge.remember(_name(session_id), record, RECORD_SECONDS)
            await send(message)

        await super()._serve_opening_request(http_transport, scope, receive, recorded_send)

    async def _take_up(self, session_id: str, requestor: AuthorizationContext, scope: Scope) -> None:
        record = await self.bridge.recall(_name(session_id))
        if record is None or record.get("owner") != dict(requestor):
            return  # unknown, or another user's: the manager answers 404, as if it did not exist
        try:
            client = types.InitializeRequestParams.model_validate(record["client"])
        except ValueError:
            return
        version = _header(scope, MCP_PROTOCOL_VERSION_HEADER) or client.protocol_version
        if version not in HANDSHAKE_PROTOCOL_VERSIONS:
            version = LATEST_HANDSHAKE_VERSION
        async with self._session_creation_lock:
            if session_id in self._server_instances:  # another request took it up meanwhile
                return
            transport = StreamableHTTPServerTransport(
                mcp_session_id=session_id,
                is_json_response_enabled=self.json_response,
                event_store=self.event_store,
                security_settings=self.security_settings,
                retry_interval=self.retry_interval,
                idle_timeout=self.session_idle_timeout,
            )
            self._server_instances[session_id] = transport
            self._session_owners[session_id] = requestor
        log.info("MCP session %s taken up by this process", session_id[:8])

        async def run(*, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            # As the manager's own run_server, with the connection born initialized.
            async with transport.connect() as (read_stream, write_stream):
                task_status.started()
                try:
                    with transport.idle_scope or anyio.CancelScope():
                        dispatcher: JSONRPCDispatcher[TransportContext] = JSONRPCDispatcher(
                            read_stream, write_stream, inline_methods=frozenset({"initialize"})
                        )
                        connection = Connection.for_loop(dispatcher, session_id=session_id)
                        connection.client_params, connection.protocol_version = client, version
                        connection.initialized.set()
                        watch.adopt(connection)  # its notifications may leave from here
                        await serve_connection(
                            self.app, dispatcher, connection=connection, lifespan_state=self._lifespan_state
                        )
                except Exception:
                    log.exception("MCP session %s crashed", session_id[:8])
                finally:
                    await self._discard_session(session_id, transport)

        assert self._task_group is not None  # run() is entered
        await self._task_group.start(run)


def _quick(scope: Scope) -> bool:
    """A 2026-07-28 POST of a ``QUICK`` method, without a progress token, from a client that reads JSON."""
    version = _header(scope, MCP_PROTOCOL_VERSION_HEADER)
    if version is None or version in HANDSHAKE_PROTOCOL_VERSIONS or scope["method"] != "POST":
        return False
    if "application/json" not in (_header(scope, "accept") or ""):
        return False
    try:
        message = json.loads(body(scope))
    except ValueError:
        return False
    return (
        isinstance(message, dict)
        and message.get("method") in QUICK
        and progress_token_from_params(message.get("params")) is None
    )


def _name(session_id: str) -> str:
    return f"session:{session_id}"


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    return next((value.decode("latin-1") for key, value in scope["headers"] if key == wanted), None)


def _requestor(scope: Scope) -> AuthorizationContext | None:
    user = scope.get("user")
    return authorization_context(user) if isinstance(user, AuthenticatedUser) else None
