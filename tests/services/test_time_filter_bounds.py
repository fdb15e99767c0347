"""A time filter's bounds, to the microsecond: ``*_after`` includes a task
stamped exactly then, ``*_before`` leaves it out (so consecutive windows
find each task once)."""

import pytest


@pytest.mark.parametrize("state", ["created", "completed", "failed", "cancelled"])
def test_after_is_inclusive_and_before_exclusive(app_ctx, alice, state):
    from hub.db import db
    from hub.services import accounts, tasks

    user = accounts.get_user("alice")
    task = tasks.get_task(user, alice.create_task()["id"])
    if state in ("completed", "failed"):
        tasks.transition(task, "running")
    if state != "created":  # each final state its own stamp (failed_at, ...)
        tasks.transition(task, state, **({"result": "done"} if state == "completed" else {}))
        db.session.commit()
    stamp = getattr(task, f"{state}_at")

    def found(**bound):
        return [t.id for t in tasks.list_tasks(user, **bound).items]

    assert found(**{f"{state}_after": stamp}) == [task.id]
    assert found(**{f"{state}_before": stamp}) == []
