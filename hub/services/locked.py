"""A task of the user's space, locked for a change that depends on its state (a reply to
its question, a callback's add or delete): read afresh in a writing
transaction and held until the caller commits, so that it cannot end, or
change, unseen in between."""

from __future__ import annotations

from sqlalchemy import select

from hub.db import begin_write, db
from hub.errors import NotFound
from hub.models import Task, User


def task(user: User, task_id: str) -> Task:
    """Begin the write and lock the user's task ``task_id``; NotFound (the
    write rolled back) if it is not theirs or does not exist."""
    begin_write()
    found = db.session.scalar(
        select(Task)
        .where(Task.id == task_id, Task.space_pk == user.space_pk)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        db.session.rollback()
        raise NotFound(f"No task '{task_id}'.")
    return found
