"""The database handle and the few rules every service follows when it writes."""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import string
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import MetaData, Table, event, exc
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool
from sqlalchemy.sql.dml import UpdateBase

from hub.logs import Fault

log = logging.getLogger(__name__)

# Stable constraint names, so Alembic can alter tables on SQLite (batch mode)
# and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:
        # Every model maps one Table (SQLAlchemy types __table__ as any
        # FromClause): its Core insert() and columns for the hot paths.
        __table__: ClassVar[Table]


# expire_on_commit=False: a service commits and the route still renders the
# object it returned without a second round trip.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

# Models subclass this, which is db.Model. mypy cannot take an attribute as a
# base class (python/mypy#8603): to it they derive from Base, which db.Model is
# built from, so their columns and constructors are typed.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 22) -> str:
    """An opaque, unguessable id (about 130 bits) with a readable prefix:
    ``length`` base-62 digits of one read from the OS's random source."""
    number = int.from_bytes(secrets.token_bytes(length))  # 8 bits a byte; a base-62 digit needs 5.95
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return prefix + "".join(digits)


class Unavailable(Exception):
    """The database cannot take a write now (its folder is read-only or
    full), found before asking the database itself."""


# Requests that meet an outage answer 503 (hub.errors); it is logged when it
# starts, every 30 s, and when a commit succeeds again.
DATABASE_DOWN = Fault(log, "database unavailable")

# SQLite's result codes for a database that cannot serve now (extended codes
# such as SQLITE_IOERR_WRITE or SQLITE_READONLY_DBMOVED start with these).
_SQLITE_UNAVAILABLE = (
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_IOERR",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_PROTOCOL",
    "SQLITE_NOMEM",
)
# PostgreSQL's SQLSTATE classes for the same: connection exception,
# insufficient resources (disk full), operator intervention (shutdown,
# starting up), system error; and a read-only transaction (a standby, or
# default_transaction_read_only).
_SQLSTATE_UNAVAILABLE = ("08", "53", "57", "58")


def unavailable(error: BaseException | None) -> bool:
    """Is ``error`` the database being down, unreachable or unwritable (a
    request may succeed later), rather than a bug?"""
    if isinstance(error, (Unavailable, exc.TimeoutError, exc.DisconnectionError)):
        return True  # exc.TimeoutError: no pooled connection came free
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    name = getattr(error.orig, "sqlite_errorname", None)
    if name:
        return name.startswith(_SQLITE_UNAVAILABLE)
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate:
        return sqlstate[:2] in _SQLSTATE_UNAVAILABLE or sqlstate == "25006"
    # psycopg raises OperationalError without a SQLSTATE when it cannot connect.
    return isinstance(error, (exc.OperationalError, exc.InterfaceError))


def rows_changed(statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE in the session; the number of rows it matched.
    Session.execute is typed to return a Result; for these it is a CursorResult."""
    return cast("CursorResult[Any]", db.session.execute(statement)).rowcount


def utcnow() -> datetime:
    """Naive UTC: what every timestamp column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_conn, _record):
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin, so
        # that reads and writes share one transaction (SQLAlchemy's recipe).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives application crashes (not power loss)
        # and writes faster; see docs/configuration.md and bench/README.md, Profiling.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()


# A database server may have restarted, or closed an idle connection, since a
# pooled connection was last used: check one that sat idle this long before
# handing it out. (pool_pre_ping would ask on every checkout: one more round
# trip on every request.) A connection dropped while busy fails its request
# and SQLAlchemy then replaces every older connection in the pool.
IDLE_PING_SECONDS = 5.0


@event.listens_for(Pool, "checkin")
def _checked_in(_dbapi_conn, record):
    record.info["hub_idle_since"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_conn, record, _proxy):
    idle_since = record.info.get("hub_idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
        return
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        return  # a file, not a server: nothing to have gone away
    try:
        cursor = dbapi_conn.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_conn.rollback()  # idle again, as checked in: a read-only request sets autocommit next
    except Exception as error:  # the driver's own error types vary
        raise exc.DisconnectionError(str(error)) from error  # the pool retries with a new connection


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        # A writer takes the write lock up front: upgrading a read snapshot
        # later can fail at once with "database is locked" under load.
        mode = "IMMEDIATE" if conn.get_execution_options().get("hub_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def begin_write() -> None:
    """Start a writing transaction for the current session.

    The write starts from what others committed before it. After a read
    (every API write follows the auth lookup) it keeps the connection rather
    than hand it back to the pool and take it again (see bench/README.md,
    Profiling, the third round): SQLite swaps the read snapshot for BEGIN IMMEDIATE, which
    serialises writers; PostgreSQL (read committed) reads each statement
    afresh anyway, and services lock rows as they need. A transaction that
    has written is committed first, and a start without a transaction
    (``begin_read``) is ended.
    """
    session = db.session()
    # Whether a statement ran in this transaction: one begun only by merging
    # remembered rows (credentials, codebases) has no read to end.
    connected = session.info.get(_CONNECTED)
    if connected and not _has_written(session) and not session.info.get(_READING):
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            # The read ends before the queue for the lock: its holder then
            # makes one call fewer while every other writer waits.
            connection.exec_driver_sql("COMMIT")
            _take_writer_lock(session)
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release_writer_lock(session)
                raise
        session.info[_WRITING] = True
        return
    if connected:
        session.commit()
    _take_writer_lock(session)
    try:
        session.connection(execution_options={"hub_write": True})
    except BaseException:
        _release_writer_lock(session)
        raise
    session.info[_WRITING] = True


_WRITING = "hub_writing"
_READING = "hub_reading"
_CONNECTED = "hub_connected"


def _connected(session, _transaction, _connection) -> None:
    session.info[_CONNECTED] = True


def begin_read() -> None:
    """Let a read-only request's statements run without a transaction on
    PostgreSQL: read committed gives each statement its own snapshot anyway,
    so BEGIN and ROLLBACK were two round trips to the server that bought
    nothing. Call before the request's first query; a ``begin_write`` later
    in the request starts a real transaction. SQLite keeps its transaction:
    there it is one snapshot for the request, and costs no round trip."""
    session = db.session()
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[_READING] = True


def _has_written(session) -> bool:
    return bool(
        session.info.get(_WRITING) or session.info.get("hub_events") or session.new or session.dirty or session.deleted
    )


# SQLite lets one writer in at a time and makes the others poll, sleeping up
# to 100 ms between tries, so under load the lock sits idle while writers
# sleep. The hub's writers queue on an flock beside the database instead: the
# kernel hands it to the next one the moment a commit ends. One open file per
# transaction, so threads of one process queue like processes do.
_LOCK = "hub_writer_lock"


def _take_writer_lock(session) -> None:
    url = session.get_bind().url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    try:
        fd = os.open(f"{url.database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:  # a read-only or full folder: the database is not writable either
        raise Unavailable(f"cannot open the writer lock beside the database: {error}") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    session.info[_LOCK] = fd


def _release_writer_lock(session, *_args) -> None:
    fd = session.info.pop(_LOCK, None)
    if fd is not None:
        os.close(fd)  # closing the file releases the lock


def _transaction_ended(session, transaction) -> None:
    if transaction.parent is None:  # not a savepoint inside the write
        _release_writer_lock(session)
        session.info.pop(_WRITING, None)
        session.info.pop(_READING, None)
        session.info.pop(_CONNECTED, None)


def _committed(_session) -> None:
    DATABASE_DOWN.cleared()


# First among the after-commit hooks: the next writer need not wait for this
# one's Redis calls. And however else the transaction ends.
event.listen(Session, "after_commit", _release_writer_lock, insert=True)
event.listen(Session, "after_commit", _committed)
event.listen(Session, "after_rollback", _release_writer_lock, insert=True)
event.listen(Session, "after_transaction_end", _transaction_ended)
event.listen(Session, "after_begin", _connected)
