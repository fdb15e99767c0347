"""The create path's hand-written persistence (hub/services/fast_create.py):
a created task is exactly what loading it gives, it stays usable like a
loaded one, and remembered codebase identities save reads without serving
stale or foreign rows."""

from contextlib import contextmanager

import pytest
from flask import current_app
from sqlalchemy import event, inspect, select, update

from hub.db import begin_write, db
from hub.errors import ValidationFailed
from hub.models import Codebase, Task
from hub.services import codebases, fast_create, tasks


@pytest.fixture
def user(app_ctx, make_user):
    from hub.services.accounts import get_user

    make_user("alice")
    return get_user("alice")


@contextmanager
def statements():
    """The SQL statements run inside the block, as a list filled as they run."""
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def columns(task):
    return {attr.key: getattr(task, attr.key) for attr in inspect(Task).column_attrs}


def test_a_created_task_holds_what_loading_it_gives_and_reads_nothing_more(user):
    codebase = codebases.create_codebase(user, name="Web")
    created = tasks.create_task(user, title="t", prompt="p", codebase_id=codebase.id, model="m", priority=3)
    with statements() as seen:
        shown = columns(created)  # every column, the codebase and conversation ids included
    assert seen == []
    db.session.expunge_all()
    loaded = db.session.scalar(select(Task).where(Task.id == created.id))
    assert shown == columns(loaded)
    assert shown["codebase_id"] == codebase.id and shown["conversation_id"] is None and shown["priority"] == 3


def test_a_created_task_changes_like_a_loaded_one(user):
    created = tasks.create_task(user, title="t", prompt="p")
    assert created in db.session  # attached once the commit freed the write lock
    begin_write()
    tasks.transition(created, "running")
    db.session.commit()
    db.session.expunge_all()
    assert db.session.scalar(select(Task.status).where(Task.id == created.id)) == "running"


def test_the_create_runs_one_insert_per_row(user):
    tasks.create_task(user, title="warm", prompt="p")  # the codebase's identity is now known
    with statements() as seen:
        tasks.create_task(user, title="t", prompt="p")
    writes = [s.split()[0] + " " + s.split()[2] for s in seen if s.startswith("INSERT")]
    assert writes == ["INSERT tasks", "INSERT events"], seen
    assert not [s for s in seen if "FROM codebases" in s], seen


def test_a_remembered_codebase_is_read_once_and_its_other_columns_stay_fresh(user):
    codebase = codebases.create_codebase(user, name="Web")
    db.session.commit()
    codebases.resolve(user, codebase.id)
    db.session.commit()
    db.session.expunge_all()
    with statements() as seen:
        again = codebases.resolve(user, codebase.id)
    assert seen == [] and again.pk == codebase.pk
    begin_write()
    db.session.execute(update(Codebase).where(Codebase.pk == codebase.pk).values(name="Renamed"))
    db.session.commit()
    db.session.expunge_all()
    assert codebases.resolve(user, codebase.id).name == "Renamed"  # not a stale copy


def test_a_remembered_codebase_is_still_only_its_owners(user, make_user):
    from hub.services.accounts import get_user

    codebase = codebases.create_codebase(user, name="Web")
    codebases.resolve(user, codebase.id)
    make_user("bob")
    db.session.commit()  # end this session's read: bob was made by another
    with pytest.raises(ValidationFailed) as refused:
        codebases.resolve(get_user("bob"), codebase.id)
    assert list(refused.value.errors) == ["codebase_id"]


def test_the_memory_of_identities_is_bounded(user, monkeypatch):
    monkeypatch.setattr(fast_create, "MAX_IDENTITIES", 2)
    made = [codebases.create_codebase(user, name=f"c{i}") for i in range(3)]
    for codebase in made:
        codebases.resolve(user, codebase.id)
    assert len(current_app.extensions["hub_codebase_identities"]) <= 2
