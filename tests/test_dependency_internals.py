"""The private parts and internals of libraries the hub relies on, one test each.

setup.cfg pins these libraries to the minor versions tested. Before widening
a pin, run this file against the new version: each failure says what changed
in the library and which hub module depends on it. The tests check what the
internal does (behaviour), not only that it exists.
"""

from __future__ import annotations

import logging
import signal
import socket
import uuid
from datetime import datetime
from types import SimpleNamespace

import flask
import marshmallow as ma
import pytest
import redis
from flask import Flask
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from limits.util import WindowStats
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import ForeignKey, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, column_property, make_transient_to_detached, mapped_column
from sqlalchemy.orm.attributes import set_committed_value
from support import wait_for

# The SQLite pass is enough: the one database here is an in-memory SQLite
# whichever database the pass tests.
pytestmark = pytest.mark.sqlite_only


def internal(owner, name: str, use: str):
    """``owner``'s private ``name``; if it is gone, a failure saying so and
    what the hub uses it for."""
    mro = (owner if isinstance(owner, type) else type(owner)).__mro__
    library = next(cls for cls in mro if not cls.__module__.startswith((__name__, "hub.")))  # not a subclass here
    assert hasattr(owner, name), f"{library.__module__.split('.')[0]}.{library.__name__} lost {name}; {use}"
    return getattr(owner, name)


# --- flask-limiter (hub/limits.py) ------------------------------------------


def limited_app(limiter: Limiter, **config) -> Flask:
    """A bare app with one view limited to 2/minute by ``limiter`` and one not limited."""
    app = Flask(__name__)
    app.config.update({"RATELIMIT_STORAGE_URI": "memory://", **config})

    @app.get("/limited")
    @limiter.limit("2/minute")
    def limited():
        return "ok"

    @app.get("/free")
    def free():
        return "ok"

    return app


def key() -> str:
    return "client"


class Recording(Limiter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checks: list[tuple] = []

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        self.checks.append((callable_name, in_middleware))
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)


def test_flask_limiter_checks_each_request_through_check_request_limit():
    internal(
        Limiter,
        "_check_request_limit",
        "hub/limits.py overrides it to skip the empty before_request pass (_Runtime) and to send the check"
        " to the current app's limiter (HubLimiter)",
    )
    limiter = Recording(key)
    app = limited_app(limiter)
    limiter.init_app(app)
    client = app.test_client()
    statuses = [client.get("/limited").status_code for _ in range(3)]
    assert statuses == [200, 200, 429], (
        "flask-limiter no longer applies a decorated limit through Limiter._check_request_limit"
        f" (statuses {statuses}); hub/limits.py overrides it to skip the empty before_request pass"
        " (_Runtime) and to send the check to the current app's limiter (HubLimiter)"
    )
    assert (None, True) in limiter.checks and any(name and not middleware for name, middleware in limiter.checks), (
        "flask-limiter changed how it calls Limiter._check_request_limit(callable_name, in_middleware)"
        f" (calls seen: {limiter.checks}): hub/limits.py's _Runtime tells the before_request pass"
        " (in_middleware=True) from the decorator's by that argument"
    )


def test_flask_limiter_keeps_every_limit_its_before_request_pass_applies_in_four_fields():
    """_Runtime skips the before_request pass while these four are empty:
    every kind of limit that pass applies must show up in one of them."""

    use = "hub/limits.py's _Runtime reads it to know that flask-limiter's before_request pass has nothing to check"

    def fields(limiter: Limiter) -> dict[str, object]:
        manager = limiter.limit_manager
        return {
            "LimitManager._application_limits": internal(manager, "_application_limits", use),
            "LimitManager._default_limits": internal(manager, "_default_limits", use),
            "LimitManager._blueprint_limits": internal(manager, "_blueprint_limits", use),
            "Limiter._meta_limits": internal(limiter, "_meta_limits", use),
        }

    assert not any(fields(Limiter(key)).values()), (
        "flask-limiter now fills its limit fields with no limit declared: hub/limits.py's _Runtime reads them"
    )
    blueprint_limited = Limiter(key)
    blueprint_limited.limit("5/minute")(flask.Blueprint("bp", __name__))
    declared = {
        "application_limits": (Limiter(key, application_limits=["5/minute"]), "LimitManager._application_limits"),
        "default_limits": (Limiter(key, default_limits=["5/minute"]), "LimitManager._default_limits"),
        "meta_limits": (Limiter(key, meta_limits=["5/hour"]), "Limiter._meta_limits"),
        "a blueprint's limit": (blueprint_limited, "LimitManager._blueprint_limits"),
    }
    for setting, field in (
        ("RATELIMIT_APPLICATION", "LimitManager._application_limits"),
        ("RATELIMIT_DEFAULT", "LimitManager._default_limits"),
        ("RATELIMIT_META", "Limiter._meta_limits"),
    ):
        limiter = Limiter(key)
        limiter.init_app(limited_app(limiter, **{setting: "5/hour"}))
        declared[setting] = (limiter, field)
    for how, (limiter, field) in declared.items():
        assert fields(limiter)[field], (
            f"flask-limiter no longer keeps limits declared by {how} in {field}: hub/limits.py's _Runtime reads"
            " it to know that flask-limiter's before_request pass has nothing to check, and would skip them"
        )


def test_flask_limiter_declarations_can_be_shared_by_a_second_limiter():
    """HubLimiter declares limits once (import time) and gives each app a
    runtime limiter sharing the declarations: limit_manager,
    _marked_for_limiting, _request_filters and _key_func."""

    class Declaring(Limiter):
        def _check_request_limit(self, callable_name=None, in_middleware=True):
            runtime._check_request_limit(callable_name, in_middleware)

    use = "hub/limits.py's HubLimiter.init_app shares it with each app's limiter"
    declaring = Declaring(key)
    runtime = Limiter(internal(declaring, "_key_func", use))
    runtime.limit_manager = declaring.limit_manager
    runtime._marked_for_limiting = internal(declaring, "_marked_for_limiting", use)
    runtime._request_filters = internal(declaring, "_request_filters", use)
    exempt = {"on": False}
    declaring.request_filter(lambda: exempt["on"])
    app = limited_app(declaring)
    runtime.init_app(app)
    client = app.test_client()
    statuses = [client.get("/limited").status_code for _ in range(3)]
    assert statuses == [200, 200, 429], (
        "A Limiter given another's limit_manager, _marked_for_limiting and _key_func no longer applies"
        f" that one's declared limits (statuses {statuses}): hub/limits.py's HubLimiter.init_app builds"
        " each app's limiter that way"
    )
    exempt["on"] = True
    assert client.get("/limited").status_code == 200, (
        "A Limiter given another's _request_filters no longer honours them: hub/limits.py's"
        " HubLimiter.init_app shares them with each app's limiter"
    )


class Strategy(MovingWindowRateLimiter):
    def __init__(self, storage):
        super().__init__(storage)
        self.hits: list[tuple] = []

    def hit(self, item, *identifiers, cost=1):
        self.hits.append(identifiers)
        return super().hit(item, *identifiers, cost=cost)


def test_flask_limiter_strategy_is_limiter_attribute_and_can_be_replaced():
    limiter = Limiter(key)
    app = limited_app(limiter, RATELIMIT_STRATEGY="moving-window")
    limiter.init_app(app)
    use = "hub/limits.py's HubLimiter.init_app replaces it with hub/moving_window.py's BatchedMovingWindow"
    assert isinstance(internal(limiter, "_limiter", use), MovingWindowRateLimiter), (
        f"flask-limiter no longer keeps its moving-window strategy in Limiter._limiter: {use}"
    )
    replacement = Strategy(limiter.storage)
    limiter._limiter = replacement
    app.test_client().get("/limited")
    assert limiter.limiter is replacement and replacement.hits, (
        "A strategy set in Limiter._limiter is no longer the one flask-limiter uses: hub/limits.py puts"
        " hub/moving_window.py's BatchedMovingWindow there"
    )


def test_flask_limiter_key_prefix_comes_first_in_every_key():
    limiter = Limiter(key)
    app = limited_app(limiter, RATELIMIT_KEY_PREFIX="hub-limit-test")
    limiter.init_app(app)
    use = "hub/limits.py reads it to build the tier and failed-authentication keys as flask-limiter builds its own"
    assert internal(limiter, "_key_prefix", use) == "hub-limit-test", (
        "flask-limiter no longer keeps RATELIMIT_KEY_PREFIX in Limiter._key_prefix: hub/limits.py reads"
        " it to build the tier and failed-authentication keys as flask-limiter builds its own"
    )
    strategy = limiter._limiter = Strategy(limiter.storage)
    app.test_client().get("/limited")
    assert strategy.hits and strategy.hits[0][0] == "hub-limit-test" and strategy.hits[0][1] == "client", (
        f"flask-limiter changed the identifiers it passes to the strategy ({strategy.hits}), expected"
        " (key prefix, key, scope): hub/limits.py builds the tier and failed-authentication keys that way,"
        " in the same storage"
    )


def redis_down() -> dict:
    """Settings for a limiter whose Redis is down: a port nobody listens on, no retries."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free again once the block ends
    return {
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{port}",
        "RATELIMIT_STORAGE_OPTIONS": {"retry": Retry(NoBackoff(), 0), "socket_connect_timeout": 0.5},
    }


def test_flask_limiter_swallow_errors_setting_is_kept_in_swallow_errors():
    for setting in (True, False):
        limiter = Limiter(key)
        app = limited_app(limiter, **redis_down(), RATELIMIT_SWALLOW_ERRORS=setting)
        limiter.init_app(app)
        use = "hub/limits.py reads it to fail open (or not) on the limits it checks itself"
        assert internal(limiter, "_swallow_errors", use) is setting, (
            "flask-limiter no longer keeps RATELIMIT_SWALLOW_ERRORS in Limiter._swallow_errors: hub/limits.py"
            " reads it to fail open (or not) on the limits it checks itself"
        )
        status = app.test_client().get("/limited").status_code
        assert status == (200 if setting else 500), (
            f"flask-limiter with RATELIMIT_SWALLOW_ERRORS={setting} and Redis down answered {status}:"
            " hub/limits.py makes its own limits behave the same way"
        )


def test_flask_limiter_logs_a_swallowed_error_on_its_logger_with_the_error():
    limiter = Limiter(key)
    app = limited_app(limiter, **redis_down(), RATELIMIT_SWALLOW_ERRORS=True)
    limiter.init_app(app)
    records: list[logging.LogRecord] = []

    class Keep(logging.Filter):
        def filter(self, record):
            records.append(record)
            return False

    logger = logging.getLogger("flask-limiter")
    # Alone: the hub's own filter (installed by an app built earlier) would drop them first.
    others, logger.filters = logger.filters, [Keep()]
    try:
        app.test_client().get("/limited")
    finally:
        logger.filters = others
    errors = [r.exc_info[1] for r in records if r.exc_info]
    assert limiter.logger is logging.getLogger("flask-limiter") and any(
        isinstance(error, (redis.RedisError, OSError)) for error in errors
    ), (
        "flask-limiter no longer logs a swallowed storage error on the 'flask-limiter' logger with the"
        f" error as exc_info (records: {[r.getMessage() for r in records]}): hub/limits.py's _FailOpenFilter"
        " routes those lines to its REDIS_DOWN fault (one line when Redis goes, one when it is back)"
    )


def test_flask_limiter_rate_limit_exceeded_reads_only_limit_and_error_message():
    """hub/limits.py raises RateLimitExceeded for its own limits with a
    _Breach (limit, scope, error_message) for flask-limiter's private RuntimeLimit."""
    from hub.limits import _Breach

    item = parse("3/minute")
    error = RateLimitExceeded(_Breach(item))
    assert error.code == 429 and error.limit.limit is item and error.description == str(item), (
        "flask-limiter's RateLimitExceeded now needs more of its limit than .limit and .error_message:"
        " hub/limits.py raises it with its own _Breach for the tier and failed-authentication limits"
    )
    declared = Limiter(key).limit("3/minute", scope="account", error_message="Too many")
    (runtime_limit,) = list(declared)
    assert (runtime_limit.limit, runtime_limit.scope, runtime_limit.error_message) == (
        parse("3/minute"),
        "account",
        "Too many",
    ), (
        "flask-limiter's RuntimeLimit no longer has .limit, .scope and .error_message: hub/limits.py's"
        " _rate_limited reads them from RateLimitExceeded.limit to word the 429"
    )


# --- limits (hub/moving_window.py) -------------------------------------------


def test_limits_moving_window_layout_is_what_the_hubs_script_writes(redis_server):
    """hub/moving_window.py's Lua script reads and writes the stock moving
    window's Redis layout (a list of hit timestamps, newest first, at
    storage.prefixed_key(item.key_for(...))), so either can count the other's hits."""
    from hub.logs import Fault
    from hub.moving_window import BatchedMovingWindow

    storage = storage_from_string(redis_server.url)
    assert isinstance(storage, RedisStorage)
    use = "hub/moving_window.py's BatchedMovingWindow runs its script on that connection, on those keys"
    connection = internal(storage, "get_connection", use)()
    prefixed_key = internal(storage, "prefixed_key", use)
    stock = MovingWindowRateLimiter(storage)
    batched = BatchedMovingWindow(storage, Fault(logging.getLogger(__name__), "test"))
    item, who = parse("4/minute"), ("internals", uuid.uuid4().hex)
    assert batched.hit(item, *who) and stock.hit(item, *who) and batched.hit(item, *who)
    stats = stock.get_window_stats(item, *who)
    assert stats.remaining == 1, (
        f"limits' moving window counts {4 - stats.remaining} of 3 hits, two made by hub/moving_window.py's"
        " script: limits changed its Redis layout for the moving window (a list of timestamps per key),"
        " which the script writes and reads"
    )
    assert stock.hit(item, *who) and not batched.hit(item, *who), (
        "hub/moving_window.py's script no longer sees the hits limits' moving window stored: limits changed"
        " its Redis layout"
    )
    stored = connection.lrange(prefixed_key(item.key_for(*who)), 0, -1)
    assert len(stored) == 4 and [float(t) for t in stored] == sorted((float(t) for t in stored), reverse=True), (
        "limits no longer keeps the moving window at storage.prefixed_key(item.key_for(...)) as a list of"
        f" timestamps, newest first ({stored}): hub/moving_window.py's script pops expired hits from its end"
    )
    assert WindowStats._fields == ("reset_time", "remaining"), (
        "limits' WindowStats changed its fields: hub/moving_window.py and hub/limits.py build it positionally"
    )


# --- marshmallow (hub/schemas.py) --------------------------------------------


def test_marshmallow_field_serialize_is_check_attribute_then_underscore_serialize():
    """hub/schemas.py's PlainDump skips Field.serialize: it reads the
    attribute itself when field._CHECK_ATTRIBUTE, then calls field._serialize."""
    from hub.schemas import TaskSchema

    app = Flask(__name__)
    app.config["HUB_BASE_URL"] = "http://127.0.0.1"
    columns = {field.attribute or name: None for name, field in TaskSchema().fields.items()}
    columns.update(id="task_1", title="t", priority=2, duration_seconds=1.5, created_at=datetime(2026, 1, 2, 3, 4))
    task = SimpleNamespace(**columns)
    with app.app_context():
        for name, field in TaskSchema().fields.items():
            use = "hub/schemas.py's PlainDump reads it for each field of TaskSchema"
            reads = internal(field, "_CHECK_ATTRIBUTE", use)
            value = getattr(task, field.attribute or name) if reads else None
            assert internal(field, "_serialize", use)(value, name, task) == field.serialize(name, task), (
                f"marshmallow's {type(field).__name__}.serialize is no longer _serialize of the attribute"
                " (read only when _CHECK_ATTRIBUTE): hub/schemas.py's PlainDump calls _serialize directly"
            )
    assert not ma.fields.Function._CHECK_ATTRIBUTE and ma.fields.String._CHECK_ATTRIBUTE, (
        "marshmallow changed Field._CHECK_ATTRIBUTE: hub/schemas.py's PlainDump reads it to know which fields"
        " read an attribute"
    )


def test_marshmallow_calls_deserialize_and_validated_hooks_on_load():
    """hub/schemas.py's UTCDateTime and RequiredText override
    Field._deserialize, WholeNumber overrides Integer._validated."""
    from hub.schemas import RequiredText, UTCDateTime, WholeNumber

    use = "hub/schemas.py overrides it"
    internal(ma.fields.DateTime, "_deserialize", use + " (UTCDateTime)")
    internal(ma.fields.String, "_deserialize", use + " (RequiredText)")
    internal(ma.fields.Integer, "_validated", use + " (WholeNumber)")
    schema = ma.Schema.from_dict({"when": UTCDateTime(), "text": RequiredText(), "count": WholeNumber()})()
    loaded = schema.load({"when": "2026-01-02T03:04:05+01:00", "text": "hi", "count": "3"})
    assert loaded == {"when": datetime(2026, 1, 2, 2, 4, 5), "text": "hi", "count": 3}, (
        f"marshmallow no longer calls DateTime._deserialize on load ({loaded}): hub/schemas.py's UTCDateTime"
        " converts to naive UTC there"
    )
    for field, value in (("count", 1.5), ("count", True), ("text", "  ")):
        with pytest.raises(ma.ValidationError) as refused:
            schema.load({"text": "x", field: value})
        assert field in refused.value.messages, (
            f"marshmallow no longer calls the hook that refuses {field}={value!r}: hub/schemas.py's"
            " WholeNumber overrides Integer._validated, RequiredText overrides String._deserialize"
        )


def test_marshmallow_names_errors_of_the_whole_input_schema():
    with pytest.raises(ma.ValidationError) as refused:
        ma.Schema.from_dict({"title": ma.fields.String()})().load(["not", "an", "object"])
    assert ma.exceptions.SCHEMA == "_schema" and "_schema" in refused.value.messages, (
        f"marshmallow no longer reports errors of the whole input under '_schema' ({refused.value.messages}):"
        " hub/errors.py renames that key to 'body' in the API's 422"
    )


# --- Flask and werkzeug (hub/cli, hub/webhooks/delivery.py) -------------------


def test_flask_group_load_plugin_commands_adds_the_entry_point_commands():
    from importlib.metadata import entry_points

    from flask.cli import FlaskGroup

    group = FlaskGroup(add_default_commands=False)
    load = internal(group, "_load_plugin_commands", "hub/cli/__init__.py's HubGroup calls it to register commands")
    load()
    load()  # hub/cli calls it from get_command and list_commands
    wanted = {entry.name for entry in entry_points(group="flask.commands")}
    assert "zapier" in wanted and wanted <= set(group.commands), (
        "flask's FlaskGroup._load_plugin_commands no longer adds the flask.commands entry points"
        f" ({sorted(group.commands)}, wanted {sorted(wanted)}): hub/cli/__init__.py's HubGroup calls it to"
        " register the connectors' commands, and hides some of them after"
    )


def test_werkzeug_local_proxy_get_current_object_is_the_app():
    app = Flask(__name__)
    with app.app_context():
        use = "hub/cli/processes.py and hub/webhooks/delivery.py hand the real app to threads with it"
        real = internal(flask.current_app, "_get_current_object", use)()
    assert real is app, (
        "werkzeug's LocalProxy._get_current_object no longer returns the proxied object: hub/cli/processes.py"
        " and hub/webhooks/delivery.py hand the real app to threads and workers with it"
    )


# --- RQ (hub/jobs.py) ---------------------------------------------------------


@pytest.fixture
def rq_worker(redis_server):
    """A hub ListeningWorker on the test Redis, and the process's signal
    handlers and RQ's log handlers put back afterwards (RQ sets both)."""
    from rq import Queue

    from hub.jobs import ListeningWorker

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    loggers = {name: logging.getLogger(name) for name in ("rq.worker", "rq.job")}
    saved = {name: (log.handlers[:], log.level) for name, log in loggers.items()}
    connection = redis.Redis.from_url(redis_server.url)
    queue = Queue(f"internals-{uuid.uuid4().hex}", connection=connection)
    calls: list[str] = []

    class Worker(ListeningWorker):
        def handle_warm_shutdown_request(self):
            calls.append("warm shutdown")
            super().handle_warm_shutdown_request()

        def handle_payload(self, message):
            calls.append("payload")
            super().handle_payload(message)

    worker = Worker([queue], connection=connection)
    worker.calls = calls
    yield worker
    if worker.pubsub_thread is not None and worker.pubsub_thread.is_alive():
        worker.unsubscribe()
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    for name, (handlers_, level) in saved.items():
        loggers[name].handlers[:] = handlers_
        loggers[name].setLevel(level)


def test_rq_worker_records_a_stop_request_where_the_hub_reads_it(rq_worker):
    from rq.exceptions import StopRequested
    from rq.worker import WorkerStatus

    from hub.jobs import _stopping

    use = "hub/jobs.py's _stopping reads it"
    internal(rq_worker, "_shutdown_requested_date", use)
    internal(rq_worker, "_stop_requested", use)
    with pytest.raises(StopRequested):
        rq_worker.request_stop(signal.SIGTERM, None)  # idle: RQ stops at once
    assert rq_worker._shutdown_requested_date is not None and _stopping(rq_worker), (
        "RQ no longer records a stop request in Worker._shutdown_requested_date: hub/jobs.py's _stopping"
        " reads it to tell SIGTERM from a lost Redis (and would start the worker again)"
    )
    assert "warm shutdown" in rq_worker.calls, (
        "RQ no longer calls Worker.handle_warm_shutdown_request on SIGTERM: hub/webhooks/worker.py's DeliveryWorker"
        " cuts hung webhook sends there"
    )
    rq_worker._shutdown_requested_date = None
    rq_worker.set_state(WorkerStatus.BUSY)
    rq_worker.request_stop(signal.SIGTERM, None)  # busy: RQ lets the job finish
    assert rq_worker._stop_requested, (
        "RQ no longer records a stop requested during a job in Worker._stop_requested: hub/jobs.py's _stopping reads it"
    )


def test_rq_worker_subscribes_through_subscribe_and_stops_the_thread_it_started(rq_worker):
    """hub/jobs.py's ListeningWorker replaces RQ's subscribe() (its command
    thread wakes every second, not every 60) and relies on RQ calling it at
    start, sending commands to handle_payload, and stopping ``pubsub_thread``."""
    from rq.command import PUBSUB_CHANNEL_TEMPLATE, send_kill_horse_command

    use = "hub/jobs.py's ListeningWorker.subscribe uses it as RQ's own subscribe() does"
    for name in ("pubsub_channel_name", "handle_payload", "_pubsub_exception_handler", "pubsub_thread"):
        internal(rq_worker, name, use)
    connection = rq_worker.connection
    rq_worker.bootstrap()
    channel = PUBSUB_CHANNEL_TEMPLATE % rq_worker.name
    subscribed = dict(connection.pubsub_numsub(channel)).get(channel.encode(), 0)
    assert channel == rq_worker.pubsub_channel_name and subscribed == 1, (
        "RQ's worker start (bootstrap) no longer subscribes through Worker.subscribe() to the channel its"
        f" commands are sent to ({channel}): hub/jobs.py's ListeningWorker overrides subscribe()"
    )
    send_kill_horse_command(connection, rq_worker.name)
    wait_for(lambda: "payload" in rq_worker.calls, 5, message="RQ's command to reach handle_payload")
    thread = rq_worker.pubsub_thread
    rq_worker.teardown()
    wait_for(lambda: not thread.is_alive(), 3, message="the command thread to end")
    assert not dict(connection.pubsub_numsub(channel)).get(channel.encode(), 0), (
        "RQ's worker stop (teardown) no longer ends the subscription in Worker.pubsub / pubsub_thread:"
        " hub/jobs.py's ListeningWorker.subscribe sets them"
    )


# --- SQLAlchemy and flask-sqlalchemy (hub/services/fast_create.py, hub/auth/principals.py, hub/db.py)


class Base(DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = "parent"
    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str]
    name: Mapped[str | None]


class Child(Base):
    __tablename__ = "child"
    pk: Mapped[int] = mapped_column(primary_key=True)
    parent_pk: Mapped[int] = mapped_column(ForeignKey("parent.pk"))
    title: Mapped[str]
    # As Task.codebase_id: the parent's public id, read-only, loaded with the row.
    parent_id: Mapped[str] = column_property(
        select(Parent.id).where(Parent.pk == parent_pk).correlate_except(Parent).scalar_subquery(),
        expire_on_flush=False,
    )


@pytest.fixture
def orm():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    statements: list[str] = []

    def executed(_connection, _cursor, statement, *_args):
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):  # the driver's own, version to version
            statements.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", executed)
    with Session(engine, expire_on_commit=False) as session:
        session.add(Parent(pk=1, id="cb_1", name="first"))
        session.commit()
        session.expunge_all()
        statements.clear()
        yield session, statements
    engine.dispose()


def test_sqlalchemy_plain_insert_then_make_transient_to_detached_gives_a_loaded_object(orm):
    """hub/services/fast_create.py: a task built with every column set,
    inserted with one plain INSERT read from its __dict__, given its pk and
    read-only ids with set_committed_value, joins the session after the
    commit as if loaded; later changes are flushed as an UPDATE."""
    session, statements = orm
    child = Child(parent_pk=1, title="t")
    set_committed_value(child, "parent_id", "cb_1")
    row = {"parent_pk": child.__dict__["parent_pk"], "title": child.__dict__["title"]}
    set_committed_value(child, "pk", session.execute(Child.__table__.insert(), row).inserted_primary_key[0])
    session.commit()
    make_transient_to_detached(child)
    session.add(child)
    assert child in session and not session.new and not session.dirty, (
        "SQLAlchemy's make_transient_to_detached + Session.add no longer makes an object built and inserted"
        " by hand persistent (it would be INSERTed again): hub/services/fast_create.py's attach relies on it"
    )
    assert (child.pk, child.parent_id) == (1, "cb_1") and statements == ["INSERT"], (
        f"Reading a hand-inserted object's pk and set_committed_value attributes ran {statements}, expected"
        " only the INSERT: hub/services/fast_create.py's new_task and insert rely on set_committed_value"
    )
    child.title = "changed"
    session.commit()
    assert statements == ["INSERT", "UPDATE"], (
        f"A change to an attached object ran {statements}: hub/services/fast_create.py's attach promises"
        " callers that later changes are flushed"
    )


def test_sqlalchemy_merge_without_load_of_a_detached_identity_reads_nothing_until_asked(orm):
    """hub/services/fast_create.py (codebase identities) and
    hub/auth/principals.py (cached users) keep detached objects made with
    make_transient_to_detached and merge them with load=False."""
    session, statements = orm
    identity = Parent(pk=1, id="cb_1")
    make_transient_to_detached(identity)
    merged = session.merge(identity, load=False)
    assert (merged.pk, merged.id) == (1, "cb_1") and statements == [], (
        f"Session.merge(load=False) of a make_transient_to_detached object ran {statements}: hub/auth/principals.py"
        " and hub/services/fast_create.py rely on it to skip a query on every request"
    )
    assert merged.name == "first" and statements == ["SELECT"], (
        "An attribute left unset before make_transient_to_detached no longer loads from the database when"
        " read: hub/services/fast_create.py's codebase identities leave all but pk, id and owner unset"
    )


def test_flask_sqlalchemy_sessions_are_its_session_class():
    from flask_sqlalchemy import SQLAlchemy
    from flask_sqlalchemy.session import Session as FlaskSession

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    extension = SQLAlchemy()
    extension.init_app(app)
    begun: list[object] = []

    def began(session, *_args):
        begun.append(session)

    event.listen(FlaskSession, "after_begin", began)
    try:
        with app.app_context():
            session = extension.session()
            session.execute(select(1))
    finally:
        event.remove(FlaskSession, "after_begin", began)
    assert isinstance(session, FlaskSession) and begun == [session], (
        "flask-sqlalchemy's sessions are no longer instances of flask_sqlalchemy.session.Session: hub/db.py"
        " and hub/wakeups.py listen on that class for the writer lock and the after-commit hooks"
    )
