"""The task state machine, table-driven."""
import pytest

from hub.db import db
from hub.errors import Conflict
from hub.models import Event, Task
from hub.services import tasks

PATHS = {
    "pending": [],
    "running": ["running"],
    "completed": ["running", "completed"],
    "failed": ["running", "failed"],
    "cancelled": ["cancelled"],
}
ALLOWED = {
    ("pending", "running"), ("pending", "cancelled"),
    ("running", "completed"), ("running", "failed"), ("running", "cancelled"), ("running", "pending"),
}


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
        with pytest.raises(Conflict):
            tasks.transition(task, to)
        assert task.status == start


def test_each_change_records_its_event_with_the_task_as_of_then(app_ctx, alice):
    from hub.services.accounts import get_user

    task = task_in(get_user("alice"), "completed")
    events = db.session.query(Event).filter_by(task_id=task.id).order_by(Event.pk).all()
    assert [e.type for e in events] == ["task.created", "task.started", "task.completed"]
    assert [e.data["status"] for e in events] == ["pending", "running", "completed"]
    assert len({e.id for e in events}) == 3
    assert task.duration_seconds is not None and task.duration_seconds >= 0
    assert db.session.get(Task, task.pk).completed_at is not None
