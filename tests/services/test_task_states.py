"""The task state machine, table-driven: which changes are allowed, and
what each one records (its event, with the task as of then, and its
timestamp)."""

import pytest

from hub.db import db
from hub.errors import Conflict
from hub.models import Event, Task
from hub.services import tasks

PATHS = {
    "pending": [],
    "running": ["running"],
    "input_required": ["running", "input_required"],
    "completed": ["running", "completed"],
    "failed": ["running", "failed"],
    "cancelled": ["cancelled"],
}
ALLOWED = {
    ("pending", "running"),
    ("pending", "cancelled"),
    ("running", "completed"),
    ("running", "failed"),
    ("running", "cancelled"),
    ("running", "pending"),
    ("running", "input_required"),  # the agent asks the user
    ("input_required", "pending"),  # the user's reply resumes it
    ("input_required", "cancelled"),
}
# The event each new status records (a lapsed lease puts a task back to
# pending silently: subscribers saw task.started and will see it again).
EVENT = {
    "running": "task.started",
    "input_required": "task.input_required",
    "completed": "task.completed",
    "failed": "task.failed",
    "cancelled": "task.cancelled",
    "pending": None,
}
STAMP = {"running": "started_at", "completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at"}


def task_in(user, status):
    task = tasks.create_task(user, title="t", prompt="p")
    for step in PATHS[status]:
        tasks.transition(task, step)
    db.session.commit()
    return task


@pytest.mark.parametrize("start", list(PATHS))
@pytest.mark.parametrize("to", list(PATHS))
def test_transitions(app_ctx, alice, start, to):
    from hub.services.accounts import get_user

    task = task_in(get_user("alice"), start)
    if (start, to) in ALLOWED:
        tasks.transition(task, to)
        assert task.status == to
    else:
        before, updated = [e.id for e in events_of(task)], task.updated_at
        with pytest.raises(Conflict) as refused:
            tasks.transition(task, to)
        assert refused.value.code == "invalid_transition" and refused.value.extra == {"task_status": start}
        db.session.commit()
        assert task.status == start and task.updated_at == updated
        assert [e.id for e in events_of(task)] == before  # a refused change records nothing


def events_of(task):
    return db.session.query(Event).filter_by(task_id=task.id).order_by(Event.pk).all()


@pytest.mark.parametrize(("start", "to"), sorted(ALLOWED))
def test_each_allowed_change_records_its_own_event_and_timestamp(app_ctx, alice, start, to):
    from hub.schemas import dump_task
    from hub.services.accounts import get_user

    task = task_in(get_user("alice"), start)
    before = events_of(task)
    stamps = {name: getattr(task, name) for name in STAMP.values()}
    tasks.transition(task, to, error="why" if to == "failed" else None)
    db.session.commit()

    new = events_of(task)[len(before) :]
    assert [e.type for e in new] == ([EVENT[to]] if EVENT[to] else [])
    for event in new:
        assert event.user_pk == task.user_pk
        assert event.data == dump_task(task) and event.data["status"] == to
    assert task.status == to and db.session.get(Task, task.pk).status == to
    for status, name in STAMP.items():
        if status == to:
            assert getattr(task, name) == task.updated_at, name  # stamped now
        else:
            assert getattr(task, name) == stamps[name], name  # left alone
    if to in ("completed", "failed"):
        assert task.duration_seconds == round((task.updated_at - task.started_at).total_seconds(), 3)
    else:
        assert task.duration_seconds is None
    if to == "failed":
        assert task.error == "why" and new[0].data["error"] == "why"


@pytest.mark.parametrize("start", ["pending", "running", "input_required"])
def test_cancel_emits_task_cancelled_once(app_ctx, alice, start):
    from hub.services.accounts import get_user

    user = get_user("alice")
    task = task_in(user, start)
    cancelled = tasks.cancel_task(user, task.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert [e.type for e in events_of(task)][-1] == "task.cancelled"
    again = tasks.cancel_task(user, task.id)  # a retried cancel: the same answer, no second event
    assert again.status == "cancelled" and again.cancelled_at == cancelled.cancelled_at
    assert [e.type for e in events_of(task)].count("task.cancelled") == 1


@pytest.mark.parametrize("status", ["completed", "failed"])
def test_cancel_refuses_a_finished_task_and_records_nothing(app_ctx, alice, status):
    from hub.services.accounts import get_user

    user = get_user("alice")
    task = task_in(user, status)
    before = [e.id for e in events_of(task)]
    with pytest.raises(Conflict):
        tasks.cancel_task(user, task.id)
    db.session.rollback()
    assert [e.id for e in events_of(task)] == before
    assert db.session.get(Task, task.pk).status == status


def test_each_change_records_its_event_with_the_task_as_of_then(app_ctx, alice):
    from hub.services.accounts import get_user

    task = task_in(get_user("alice"), "completed")
    events = db.session.query(Event).filter_by(task_id=task.id).order_by(Event.pk).all()
    assert [e.type for e in events] == ["task.created", "task.started", "task.completed"]
    assert [e.data["status"] for e in events] == ["pending", "running", "completed"]
    assert len({e.id for e in events}) == 3
    assert task.duration_seconds is not None and task.duration_seconds >= 0
    assert db.session.get(Task, task.pk).completed_at is not None
