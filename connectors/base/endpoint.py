# flask-smorest has no type information: its decorators (hub.api.base.Blueprint.auth's too) are Any to mypy.
# mypy: allow-untyped-decorators
"""A connector's own protocol endpoint: an ASGI app (a protocol SDK's server,
e.g. MCP's Streamable HTTP) answering at exactly ``/connectors/<key>``,
beside the connector's REST routes under ``/connectors/<key>/...``.

The hub stays a WSGI app: the endpoint is a route of the connector's
blueprint, so it gets the hub's authentication (401 and its header), tier
rate limits and request ids like any route; the request then goes on to the
ASGI app through a2wsgi, with the caller (``Caller``) in the ASGI scope
(``caller(scope)``), and the answer streams back (SSE too). Each process
runs the ASGI side on one event loop of its own, started with the first
request (gunicorn forks workers first), where the app's ``running()``
context (e.g. a session manager) stays entered.

Handlers call the hub through ``Bridge.call(caller, fn, ...)``: ``fn(user,
...)`` runs inside the Flask app context (a database session of its own,
removed after), so ``connectors.base.hub`` works there as it does in a REST
route, and the event loop never blocks on it: on the request's own thread
while it waits for the app's answer, else on a worker thread. What
every process of the hub must know (e.g. a protocol's sessions, as gunicorn
sends a client's requests to any of its workers) goes in ``Bridge.remember``
/ ``recall`` / ``forget``: small JSON records in the hub's Redis, per
connector.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import partial
from io import BytesIO
from typing import Any, Protocol, TypeVar

from a2wsgi.asgi import ASGIResponder, SyncEvent
from flask import Blueprint as FlaskBlueprint
from flask import Flask, Response, g, request

from hub.api.base import Blueprint
from hub.auth import Requirement, require_scope
from hub.db import db
from hub.errors import Forbidden, NotFound
from hub.jobs import connection as redis_connection
from hub.models import User
from hub.wakeups import on_stop

__all__ = ["Bridge", "Caller", "Endpoint", "EndpointApp", "body", "caller"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Scope = MutableMapping[str, Any]
# Environ keys a2wsgi hands on in the scope's "wsgi_environ": the caller, and the request's body as read.
CALLER, BODY = "codetether.caller", "codetether.body"


@dataclass(frozen=True)
class Caller:
    """Who sent this request: the user, and what their credential may do."""

    user_pk: int  # the user's primary key
    scopes: frozenset[str]
    credential_id: str  # one per API key or OAuth token
    # The request's own thread, while it waits for the protocol app (_RequestThread.take): Bridge.call runs there.
    thread: _RequestThread | None = field(default=None, compare=False, repr=False)


class EndpointApp(Protocol):
    """The protocol's ASGI app, and what must run while it serves."""

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Any) -> None: ...

    def running(self) -> AbstractAsyncContextManager[Any]: ...


@dataclass(frozen=True)
class Endpoint:
    """``build(bridge, connector)`` makes the protocol's app, once per
    process. ``scope_for(connector, body)``: the scope a POST's JSON body needs beyond a user
    credential (None: none), refused as the REST routes refuse it (403
    ``insufficient_scope``, its ``WWW-Authenticate`` header); ``refusal(body,
    message, scope)`` gives that 403's body in the protocol's own words."""

    build: Callable[[Bridge, Any], EndpointApp]
    methods: tuple[str, ...] = ("GET", "POST", "DELETE")
    scope_for: Callable[[Any, Any], Requirement] | None = None
    refusal: Callable[[Any, str, str], Any] | None = None
    description: str = ""


def caller(scope: Scope) -> Caller | None:
    """The caller of the request whose ASGI ``scope`` this is."""
    found = scope.get("wsgi_environ", {}).get(CALLER)
    return found if isinstance(found, Caller) else None


def body(scope: Scope) -> bytes:
    """The body of the request whose ASGI ``scope`` this is (the protocol app reads it too)."""
    found = scope.get("wsgi_environ", {}).get(BODY)
    return found if isinstance(found, bytes) else b""


class Bridge:
    """What a protocol app needs of the hub, for one Flask app and connector."""

    def __init__(self, app: Flask, key: str) -> None:
        self.app = app
        self.prefix = f"hub:connector:{key}:"
        # The loop's own executor rather than anyio.to_thread, which walks every task alive on the loop
        # (find_root_task) on each call; as many threads as anyio's default limiter (a stream's wait holds one).
        self.threads = ThreadPoolExecutor(max_workers=40, thread_name_prefix=f"connector-{key}")

    async def remember(self, name: str, record: dict[str, Any], seconds: int) -> bool:
        """Keep ``record`` under ``name`` for ``seconds``, for every process;
        False when Redis cannot (logged): the caller goes on without it."""
        value = json.dumps(record)
        kept: bool = await self._redis("remember", lambda r: bool(r.set(self.prefix + name, value, ex=seconds)), False)
        return kept

    async def recall(self, name: str) -> dict[str, Any] | None:
        """The record kept under ``name``; None if none (or Redis is down)."""
        found = await self._redis("recall", lambda r: r.get(self.prefix + name), None)
        return json.loads(found) if found else None

    async def forget(self, name: str) -> None:
        await self._redis("forget", lambda r: r.delete(self.prefix + name), None)

    async def _redis(self, what: str, action: Callable[[Any], Any], failed: Any) -> Any:
        def run() -> Any:
            try:
                return action(redis_connection(self.app))
            except Exception as error:  # redis.RedisError, or it is unreachable
                log.warning("connector endpoint could not %s a shared record: %s", what, error)
                return failed

        return await self._on_thread(run)

    async def call(self, who: Caller, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(user, *args, **kwargs)`` on the request's thread while it
        waits (else a worker thread), in an app context of its own, for the
        caller's user; its hub errors pass through."""
        work = partial(self._in_app, who, fn, args, kwargs)
        if who.thread is not None:
            # The request's thread idles meanwhile, waiting for the protocol app's answer: one hand-off fewer.
            taken = await who.thread.take(work)
            if taken is not None:
                return await _unabandoned(taken)
        return await self._on_thread(work)

    async def _on_thread(self, fn: Callable[[], T]) -> T:
        """``fn()`` on a worker thread, in the caller's context (e.g. its
        request id), as anyio.to_thread ran it."""
        return await _unabandoned(
            asyncio.get_running_loop().run_in_executor(self.threads, contextvars.copy_context().run, fn)
        )

    def _in_app(self, who: Caller, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        # On the request's thread too: a session of its own, which sees what others committed since (a wait
        # for a task's change reads it again), not the request's.
        with self.app.app_context():  # its own database session, removed when the context ends
            user = db.session.get(User, who.user_pk)
            if user is None:  # deleted meanwhile
                raise NotFound("Your account no longer exists.")
            return fn(user, *args, **kwargs)


ERRAND = "codetether.errand"


class _RequestThread(SyncEvent):
    """a2wsgi's hand-off to the WSGI side, the request's thread, which
    waits in ``wait`` for the protocol app's next message: it also takes the
    app's errands there (``run``), e.g. a tool's hub call, rather than a
    worker thread taking them while it idles. Only while it waits: else (its
    answer is being written, or has ended) the errand is not taken."""

    def __init__(self, responder: _Responder) -> None:
        super().__init__()
        self.responder = responder
        self.waiting = False  # read on the loop, whose lock (a2wsgi's) lets one message at a time through

    def wait(self) -> Any:
        while True:
            self.waiting = True
            message = super().wait()
            if message.get("type") != ERRAND:
                self.waiting = False
                return message
            self.responder.loop.call_soon_threadsafe(self.responder.sync_event_set_lock.release)
            message["run"]()

    async def take(self, work: Callable[[], T]) -> asyncio.Future[T] | None:
        """``work()``'s answer to come, handed to the request's thread; None
        if it is not waiting (run it elsewhere)."""
        lock, loop = self.responder.sync_event_set_lock, self.responder.loop
        if not self.waiting:
            return None
        await lock.acquire()
        if not self.waiting:
            lock.release()
            return None
        answer: asyncio.Future[T] = loop.create_future()

        def errand() -> None:
            try:
                result = work()
            except BaseException as error:  # its hub errors, to the awaiting coroutine
                loop.call_soon_threadsafe(_settle, answer, None, error)
            else:
                loop.call_soon_threadsafe(_settle, answer, result, None)

        self.set({"type": ERRAND, "run": errand})
        return answer


async def _unabandoned(done: asyncio.Future[T]) -> T:
    """The answer of work begun on a thread; as anyio.to_thread, a cancelled
    caller still waits for it and gets it (e.g. a subscription it must
    close), and the cancellation comes at its next await."""
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        answer = await done  # a second cancel while waiting goes through
        task = asyncio.current_task()
        if task is not None:
            task.cancel()
        return answer


def _settle(answer: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if answer.done():
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(result)


class _Served:
    """The endpoint's app on this process's event loop, started once."""

    def __init__(self, endpoint: Endpoint, connector: Any, app: Flask) -> None:
        self.endpoint, self.connector, self.flask_app = endpoint, connector, app
        self.lock = threading.Lock()
        self.running: tuple[EndpointApp, asyncio.AbstractEventLoop] | None = None
        self.streams: weakref.WeakSet[_Responder] = weakref.WeakSet()  # GET answers in flight

    def responder(self) -> _Responder:
        """A new a2wsgi responder (one a request) for the app, started with the first."""
        with self.lock:
            if self.running is None:
                protocol_app = self.endpoint.build(Bridge(self.flask_app, self.connector.key), self.connector)
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="connector-endpoint", daemon=True).start()
                ready = threading.Event()
                asyncio.run_coroutine_threadsafe(_keep_running(protocol_app, ready), loop)
                if not ready.wait(30):
                    raise RuntimeError("the connector's endpoint did not start")
                self.running = protocol_app, loop
                on_stop(self.end_streams)
            protocol_app, loop = self.running
        answer = _Responder(protocol_app, loop)
        if request.method == "GET":
            self.streams.add(answer)
        return answer

    def end_streams(self) -> None:
        """The process is stopping: end its streams (GETs) now; other requests
        finish. gunicorn waits for every request in flight, up to its graceful
        timeout, and a stream would last that long."""
        for stream in list(self.streams):
            stream.cancel()


class _Responder(ASGIResponder):
    """a2wsgi's, keeping the request's ASGI task: when the client goes away
    mid-stream (gunicorn closes the body's iterator), the task is cancelled
    rather than left waiting to send, so e.g. an SSE stream's slot is freed
    for the client's next one."""

    task: asyncio.Task[None] | None = None

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(app, loop)
        self.thread = self.sync_event = _RequestThread(self)

    async def asgi_send(self, message: Any) -> None:
        await super().asgi_send(message)
        if message["type"] == "http.response.start":
            # a2wsgi hands the WSGI side its status and headers with the body's first chunk, which on a
            # stream may come much later (an SSE stream's first event): an empty chunk hands them on now.
            await super().asgi_send({"type": "http.response.body", "body": b"", "more_body": True})

    async def start_asgi_app(self, environ: Any) -> asyncio.Task[None]:
        self.task = await super().start_asgi_app(environ)
        self.task.add_done_callback(self._cancelled)
        return self.task

    def _cancelled(self, task: asyncio.Task[None]) -> None:
        """A cancelled answer (the process stops) ends for the WSGI side too,
        which would otherwise wait for its next message for ever."""
        if not task.cancelled():
            return

        async def end() -> None:
            # As a2wsgi's own send: the WSGI side releases it (none does when the client left: not for ever).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.sync_event_set_lock.acquire(), 5)
            self.sync_event.set({"type": "http.response.body", "body": b"", "more_body": False})

        self.loop.create_task(end())

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.loop.call_soon_threadsafe(self.task.cancel)


async def _keep_running(protocol_app: EndpointApp, ready: threading.Event) -> None:
    async with protocol_app.running():
        ready.set()
        await asyncio.Event().wait()  # for the process's life


def mount(blp: Blueprint, connector: Any, app: Flask) -> None:
    """Route the connector's endpoint at its blueprint's own prefix (``/connectors/<key>``)."""
    endpoint: Endpoint = connector.endpoint
    served = _Served(endpoint, connector, app)

    @blp.auth()  # any user credential; then the scope its body needs (scope_for)
    def view() -> Response:
        sent = request.get_data(cache=True)
        refused = _refused(endpoint, connector, sent)
        if refused is not None:
            return refused
        principal = g.principal
        responder = served.responder()
        environ = {
            **request.environ,
            "wsgi.input": BytesIO(sent),
            "CONTENT_LENGTH": str(len(sent)),
            CALLER: Caller(principal.user.pk, frozenset(principal.scopes), principal.credential_id, responder.thread),
            BODY: sent,
        }
        status, headers, chunks = _start(responder, environ)
        return Response(chunks, status=status, headers=headers, direct_passthrough=True)

    view.__name__ = "endpoint"
    view.__doc__ = endpoint.description or "The connector's protocol endpoint."
    # Routed, but left out of /openapi.json: its messages are the protocol's (e.g. JSON-RPC, its errors
    # too), which the protocol's own specification describes, not the REST API's shapes.
    FlaskBlueprint.add_url_rule(blp, "", endpoint="endpoint", view_func=view, methods=list(endpoint.methods))


def _refused(endpoint: Endpoint, connector: Any, body: bytes) -> Response | None:
    """A POST whose body needs a scope the credential lacks: the hub's 403."""
    if endpoint.scope_for is None or request.method != "POST":
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None  # the protocol app answers a bad body in its own words
    try:
        require_scope(g.principal, endpoint.scope_for(connector, parsed))
    except Forbidden as refused:
        if endpoint.refusal is None:
            raise
        needed = refused.extra.get("required_scope", "")
        answer = endpoint.refusal(parsed, refused.message, needed)
        return Response(json.dumps(answer), status=403, headers=refused.headers, mimetype="application/json")
    return None


def _start(wsgi: _Responder, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
    """Run the WSGI side until it has answered its status and headers (the
    body's first chunk); the rest streams as the client reads it."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]

    answer = wsgi(environ, start_response)  # type: ignore[arg-type]  # a2wsgi's Environ is a TypedDict of a dict
    chunks: Iterator[bytes] = iter(answer)
    first: list[bytes] = []
    while not started:
        first.append(next(chunks))
    return started[0], started[1], _chain(first, chunks, answer, wsgi)


def _chain(first: list[bytes], rest: Iterator[bytes], answer: Iterable[bytes], wsgi: _Responder) -> Iterator[bytes]:
    try:
        # Empty chunks too: the WSGI server sends the headers with the first (PEP 3333 servers write b"" as nothing).
        yield from first
        yield from rest
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
        wsgi.cancel()  # done already when the answer ended; else the client left
