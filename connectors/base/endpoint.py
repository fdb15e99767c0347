# flask-smorest has no type information: its decorators (hub.api.base.Blueprint.auth's too) are Any to mypy.
# mypy: allow-untyped-decorators
"""A connector's own protocol endpoint: an ASGI app (a protocol SDK's server,
e.g. MCP's Streamable HTTP) answering at exactly ``/connectors/<key>``,
beside the connector's REST routes under ``/connectors/<key>/...``.

The hub stays a WSGI app: the endpoint is a route of the connector's
blueprint, so it gets the hub's authentication (401 and its header), tier
rate limits and request ids like any route; the request then goes on to the
ASGI app, with the caller (``Caller``) in the ASGI scope (``caller(scope)``),
and the answer streams back (SSE too). Each process runs the ASGI side on one
event loop of its own, started with the first request (gunicorn forks
workers first), where the app's ``running()`` context (e.g. a session
manager) stays entered. The request's thread and the loop meet in
``_Exchange``: one queue from the loop to the thread, ``call_soon_threadsafe``
the other way.

Handlers call the hub through ``Bridge.call(caller, fn, ...)``: ``fn(user,
...)`` runs inside the Flask app context, so ``connectors.base.hub`` works
there as it does in a REST route, and the event loop never blocks on it: on
the request's own thread while it waits for the app's answer, else on a
worker thread. A request's first call while its route runs uses the route's
own app context and user, as a REST route would; any other call gets an app
context (a database session) of its own, removed after. What
every process of the hub must know (e.g. a protocol's sessions, as gunicorn
sends a client's requests to any of its workers) goes in ``Bridge.remember``
/ ``recall`` / ``forget``: small JSON records in the hub's Redis, per
connector.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

from a2wsgi.asgi import build_scope
from flask import Blueprint as FlaskBlueprint
from flask import Flask, Response, g, request

from hub.api.base import Blueprint
from hub.auth import Requirement, require_scope
from hub.db import db
from hub.errors import Forbidden, NotFound
from hub.jobs import connection as redis_connection
from hub.models import User
from hub.services import spaces
from hub.services.spaces import Standing
from hub.wakeups import on_stop

__all__ = ["Bridge", "Caller", "Endpoint", "EndpointApp", "body", "caller"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Scope = MutableMapping[str, Any]
# Environ keys handed on in the scope's "wsgi_environ" (a2wsgi's build_scope): the caller, and the body as read.
CALLER, BODY = "codetether.caller", "codetether.body"


@dataclass(frozen=True)
class Caller:
    """Who sent this request: the user, and what their credential may do."""

    user_pk: int  # the user's primary key
    scopes: frozenset[str]
    credential_id: str  # one per API key or OAuth token
    # The space the credential acts in, the user's standing there, the credential (hub.services.spaces.act_in).
    space: tuple[int, Standing, str | None] | None = None
    # The request's own thread, while it waits for the protocol app's answer (_Exchange.take): Bridge.call runs there.
    thread: _Exchange | None = field(default=None, compare=False, repr=False)


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
        """``fn(user, *args, **kwargs)`` for the caller's user, on the
        request's thread while it waits (else a worker thread), in an app
        context (see the module's docstring); its hub errors pass through."""
        work = partial(self._in_app, who, fn, args, kwargs)
        # The request's thread would only wait for the protocol app's answer meanwhile: one hand-off fewer.
        taken = who.thread.take(work) if who.thread is not None else None
        if taken is not None:
            try:
                return await _unabandoned(taken)
            except _Declined:  # its answer ended before the thread took it
                pass
        return await self._on_thread(work)

    async def _on_thread(self, fn: Callable[[], T]) -> T:
        """``fn()`` on a worker thread, in the caller's context (e.g. its
        request id), as anyio.to_thread ran it."""
        return await _unabandoned(
            asyncio.get_running_loop().run_in_executor(self.threads, contextvars.copy_context().run, fn)
        )

    def _in_app(
        self, who: Caller, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any], in_route: bool = False
    ) -> T:
        principal = g.get("principal") if in_route else None
        if principal is not None and principal.user is not None and principal.user.pk == who.user_pk:
            # The request's first errand, while its route still runs on this thread: the route's own session
            # and the user it authenticated, as a REST route uses them (no second app context and user query).
            try:
                return fn(principal.user, *args, **kwargs)
            except BaseException:
                db.session.rollback()  # what it began (e.g. a write's lock) ends now, not with the request
                raise
        # Else a session of its own, which sees what others committed since (a wait for a task's change reads
        # it again), not the request's.
        with self.app.app_context():  # its own database session, removed when the context ends
            user = db.session.get(User, who.user_pk)
            if user is None:  # deleted meanwhile
                raise NotFound("Your account no longer exists.")
            if who.space is not None:
                spaces.act_in(user, *who.space)
            return fn(user, *args, **kwargs)


MAX_UNREAD = 16  # chunks of a stream the app may send ahead of its client's reading


class _Exchange:
    """One request's crossing between its own thread (the hub's route, the
    WSGI side) and the protocol app on the process's event loop.

    The loop puts what the app sends (its status and headers, its body's
    chunks, its end) in ``inbox``, which the request's thread reads; the
    thread starts the app and, if the client leaves, cancels it, through
    ``call_soon_threadsafe``. The body was read already, so the app's
    ``receive`` answers it at once, then ``http.disconnect`` once the answer
    is sent. While it reads ``inbox`` the request's thread also takes the
    app's errands (``take``, ``Bridge.call``): it would only wait meanwhile.
    ``lock`` guards what both threads change: ``reading``, ``unread``,
    ``resume``."""

    def __init__(self, app: EndpointApp, loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.loop = app, loop
        self.inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.reading = True  # the request's thread reads inbox (and takes errands) until the answer has ended
        self.unread = 0  # body chunks in inbox: the app's send waits (resume) while MAX_UNREAD are
        self.resume: asyncio.Future[None] | None = None
        self.ended = False  # the request's thread read the app's end
        # On the loop only:
        self.body: bytes | None = None
        self.task: asyncio.Task[None] | None = None
        self.answered: asyncio.Future[None] | None = None  # the answer's last chunk is sent

    # The request's thread.

    def start(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], Iterable[bytes]]:
        """Start the app on the request (from its route); its status and
        headers once sent (its body streams as the client reads it)."""
        self.loop.call_soon_threadsafe(self._begin, build_scope(environ), environ[BODY])  # type: ignore[arg-type]
        try:
            kind, value = self._next(in_route=True)
            if kind == "end":  # it ended without answering: failed, or cancelled (the process stops)
                self.close()
                if value is not None:
                    raise value  # the hub's 500
                return 503, [], ()
            if value["type"] != "http.response.start":
                raise RuntimeError(f"the endpoint's app sent {value['type']} before its status")
        except BaseException:
            self.close()
            raise
        headers = [(name.decode("latin-1"), data.decode("latin-1")) for name, data in value["headers"]]
        streaming = not any(name.lower() == "content-length" for name, _ in headers)
        return value["status"], headers, _Body(self, self._chunks(streaming))

    def _chunks(self, streaming: bool) -> Generator[bytes, None, None]:
        if streaming:
            yield b""  # the server sends the status and headers now, not with a stream's first event
        last = b""
        while True:
            kind, value = self._next()
            if kind == "end":
                if value is not None:  # after the status went out: the server drops the connection
                    raise value
                break
            if value["type"] != "http.response.body":
                continue
            if value.get("more_body", False):
                self._read_one()
                yield value.get("body", b"")
            else:
                # The last chunk waits for the app's end: what it does after answering (e.g. a session's
                # shared record) is done before the client has the whole answer.
                last = value.get("body", b"")
        yield last

    def _next(self, in_route: bool = False) -> tuple[str, Any]:
        """The app's next message, or its end; its errands meanwhile (the
        first in the route's own app context, if ``in_route``)."""
        while True:
            kind, value = self.inbox.get()
            if kind != "errand":
                self.ended = kind == "end"
                return kind, value
            value.run(in_route)
            in_route = False

    def _read_one(self) -> None:
        with self.lock:
            self.unread -= 1
            resume, self.resume = (self.resume, None) if self.unread < MAX_UNREAD else (None, self.resume)
        if resume is not None:
            self.loop.call_soon_threadsafe(_settle, resume, None, None)

    def close(self) -> None:
        """The answer has ended, or its client left: the app is cancelled if
        it still runs; errands not taken are declined (run elsewhere)."""
        with self.lock:
            if not self.reading:
                return
            self.reading = False
            resume, self.resume = self.resume, None
        if not self.ended:
            self.loop.call_soon_threadsafe(self._cancel, resume)
        while not self.inbox.empty():
            kind, value = self.inbox.get_nowait()
            if kind == "errand":
                value.decline()

    def cancel(self) -> None:
        """End the answer now (the process stops), from any thread."""
        self.loop.call_soon_threadsafe(self._cancel, None)

    # The loop.

    def _begin(self, scope: Scope, body: bytes) -> None:
        self.body, self.answered = body, self.loop.create_future()
        self.task = self.loop.create_task(self.app(scope, self._receive, self._send))
        self.task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.inbox.put(("end", None if task.cancelled() else task.exception()))

    def _cancel(self, resume: asyncio.Future[None] | None) -> None:
        if resume is not None:
            _settle(resume, None, None)
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _receive(self) -> dict[str, Any]:
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        assert self.answered is not None  # _begin set it
        await asyncio.shield(self.answered)
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        self.inbox.put(("message", message))
        if message["type"] != "http.response.body":
            return
        if not message.get("more_body", False):
            if self.answered is not None:  # _begin set it
                _settle(self.answered, None, None)
            return
        with self.lock:  # a stream's chunks wait while the client has MAX_UNREAD to read
            self.unread += 1
            if self.unread < MAX_UNREAD or not self.reading:
                return
            self.resume = resume = self.loop.create_future()
        await resume

    def take(self, work: Callable[[bool], T]) -> asyncio.Future[T] | None:
        """``work(in_route)``'s answer to come, run by the request's thread (on
        the loop); None if that thread has left (run it elsewhere)."""
        errand = _Errand(work, self.loop)
        with self.lock:
            if not self.reading:
                return None
            self.inbox.put(("errand", errand))
        return errand.answer


class _Errand:
    """Work handed to a request's thread, and its answer on the loop."""

    def __init__(self, work: Callable[[bool], Any], loop: asyncio.AbstractEventLoop) -> None:
        self.work, self.loop = work, loop
        self.answer: asyncio.Future[Any] = loop.create_future()

    def run(self, in_route: bool) -> None:
        try:
            result = self.work(in_route)
        except BaseException as error:  # its hub errors, to the awaiting coroutine
            self.loop.call_soon_threadsafe(_settle, self.answer, None, error)
        else:
            self.loop.call_soon_threadsafe(_settle, self.answer, result, None)

    def decline(self) -> None:
        self.loop.call_soon_threadsafe(_settle, self.answer, None, _Declined())


class _Declined(Exception):
    """The request's thread left before it took the errand."""


class _Body:
    """An answer's body for the WSGI server: the server closes it when the
    answer has ended or its client left, even unread."""

    def __init__(self, exchange: _Exchange, chunks: Generator[bytes, None, None]) -> None:
        self.exchange, self.chunks = exchange, chunks

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks

    def close(self) -> None:
        self.chunks.close()
        self.exchange.close()


async def _unabandoned(done: asyncio.Future[T]) -> T:
    """The answer of work begun on a thread; as anyio.to_thread, a cancelled
    caller still waits for it and gets it (e.g. a subscription it must
    close), and the cancellation comes at its next await."""
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        try:
            return await done  # a second cancel while waiting goes through
        finally:  # its answer, or its error (e.g. _Declined: run elsewhere, then cancelled)
            task = asyncio.current_task()
            if task is not None:
                task.cancel()


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
        self.streams: weakref.WeakSet[_Exchange] = weakref.WeakSet()  # GET answers in flight

    def exchange(self) -> _Exchange:
        """A new exchange (one a request) with the app, started with the first."""
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
        answer = _Exchange(protocol_app, loop)
        if request.method == "GET":
            self.streams.add(answer)
        return answer

    def end_streams(self) -> None:
        """The process is stopping: end its streams (GETs) now; other requests
        finish. gunicorn waits for every request in flight, up to its graceful
        timeout, and a stream would last that long."""
        for stream in list(self.streams):
            stream.cancel()


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
        exchange = served.exchange()
        environ = {
            **request.environ,
            "CONTENT_LENGTH": str(len(sent)),
            CALLER: Caller(
                principal.user.pk,
                frozenset(principal.scopes),
                principal.credential_id,
                space=spaces.acting(principal.user),
                thread=exchange,
            ),
            BODY: sent,
        }
        status, headers, body = exchange.start(environ)
        return Response(body, status=status, headers=headers, direct_passthrough=True)

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
