"""Finish a task as an agent worker would: `python finish_task.py TASK_ID completed|failed`.
The hub's settings come from the environment (the live hub's database)."""

import sys

from sqlalchemy import select

from hub import create_app
from hub.db import db
from hub.models import Task
from hub.services import tasks

task_id, status = sys.argv[1], sys.argv[2]
app = create_app()
with app.app_context():
    task = db.session.scalar(select(Task).where(Task.id == task_id))
    tasks.transition(task, "running")
    outcome = {"result": "Fixed it; tests pass."} if status == "completed" else {"error": "The repository is gone."}
    tasks.transition(task, status, **outcome)
    db.session.commit()
    db.engine.dispose()
