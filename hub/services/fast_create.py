"""The create path's hand-written persistence: where creating a task goes
around the ORM, and the only place it does.

On SQLite one writer at a time holds the write lock, so a create's speed is
how long it holds it. The ORM's unit of work (flush bookkeeping, then loading
what the insert defaulted) cost more than the insert itself, and a read
transaction just to find the codebase cost a round of statements. So:

- ``new_task`` builds a task with every column set, as if it had been loaded;
- ``insert`` writes it with one plain INSERT (no flush), under the lock;
- ``attach`` puts it in the session after the commit has freed the lock,
  so callers can still read and change it like any loaded task;
- ``known_codebase`` / ``remember_codebase``: each app remembers the
  identities (pk, id, owner) of codebases it has read, which never change
  (codebases are never deleted), so a create reads none.

Why and how much each saves: bench/README.md (second, fourth and sixth
rounds). Services call these; nothing else here knows about the ORM's
internals. ``services/tasks.py`` owns the rules (states, the tier's limit).
"""

from __future__ import annotations

import functools
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Insert
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from hub.db import db
from hub.models import Codebase, Conversation, Message, Task

# Every column but the key, by the attribute that holds it (``metadata``
# is held by ``metadata_``): a new task sets them all, so that once inserted
# it holds what a load would (the unset ones None).
_ATTRIBUTES = {
    column.key: Task.__mapper__.get_property_by_column(column).key
    for column in Task.__table__.columns
    if not column.primary_key
}
_UNSET = dict.fromkeys(_ATTRIBUTES.values())


def new_task(codebase: Codebase, conversation: Conversation | None, columns: dict[str, Any]) -> Task:
    """A task of these ``columns`` (the others None) in ``codebase`` and
    ``conversation``, not yet in the database or the session."""
    task = Task(
        **{
            **_UNSET,
            **columns,
            "codebase_pk": codebase.pk,
            "conversation_pk": conversation.pk if conversation else None,
        },
        codebase=codebase,
        conversation=conversation,
    )
    # The read-only ids every representation shows, as a query would load them.
    set_committed_value(task, "codebase_id", codebase.id)
    set_committed_value(task, "conversation_id", conversation.id if conversation else None)
    return task


def insert(row: Task | Conversation | Message) -> None:
    """Insert ``row`` in the caller's transaction with one plain INSERT, and
    give it its primary key: a task from ``new_task``, or a new conversation
    or message with every column but ``pk`` set (a send's: see
    ``conversations``), kept out of the session. What it refers to must
    already be in the database."""
    attributes, statement = _shape(type(row))
    values = {column: row.__dict__.get(attribute) for column, attribute in attributes.items()}
    inserted = cast("CursorResult[Any]", db.session.execute(statement, values))  # an INSERT's result is a cursor's
    key = inserted.inserted_primary_key
    assert key is not None  # always, for a one-row INSERT: narrows the type
    set_committed_value(row, "pk", key[0])


@functools.cache
def _shape(model: type[Task | Conversation | Message]) -> tuple[dict[str, str], Insert]:
    """A model's columns but its key, by the attribute holding each, and its INSERT."""
    table = model.__table__
    attributes = {
        column.key: model.__mapper__.get_property_by_column(column).key
        for column in table.columns
        if not column.primary_key
    }
    return attributes, table.insert()


def attach(task: Task) -> None:
    """Once the insert has committed: put ``task`` in the session as if it
    had been loaded (every column is set), so later changes are flushed."""
    make_transient_to_detached(task)
    db.session.add(task)


MAX_IDENTITIES = 10_000  # per app; past it the memory starts again


def _identities() -> dict[tuple[int, str], Codebase]:
    known: dict[tuple[int, str], Codebase] = current_app.extensions.setdefault("hub_codebase_identities", {})
    return known


def known_codebase(space_pk: int, codebase_id: str) -> Codebase | None:
    """The space's codebase of this id if this app has read it before, in the
    session without a query (attributes other than pk, id and owner load
    fresh when read); None if it has not."""
    identity = _identities().get((space_pk, codebase_id))
    if identity is None:
        return None
    return db.session.merge(identity, load=False)


def remember_codebase(codebase: Codebase) -> None:
    """Remember the identity of a codebase just read from the database."""
    known = _identities()
    if len(known) >= MAX_IDENTITIES:
        known.clear()
    identity = Codebase(pk=codebase.pk, id=codebase.id, user_pk=codebase.user_pk, space_pk=codebase.space_pk)
    make_transient_to_detached(identity)  # the rest unloaded: read fresh if asked for
    known[(codebase.space_pk, codebase.id)] = identity
