"""The task representation: the fast dump (hub.schemas.PlainDump) gives
exactly what marshmallow's own dump gives, in every state a task can be in."""

from datetime import UTC

import marshmallow as ma

from hub.api.worker import ClaimedTaskSchema
from hub.db import db
from hub.schemas import TaskSchema
from hub.services import conversations, tasks
from hub.services.accounts import get_user


def marshmallow_dump(schema, obj, many=False):
    return ma.Schema.dump(schema, obj, many=many)


def test_task_dump_matches_marshmallow_in_every_state(app_ctx, alice):
    user = get_user("alice")
    pending = tasks.create_task(user, title="Pending", prompt="p", model="gpt-x", priority=7)
    finished = tasks.create_task(user, title="Finished ü", prompt="p", agent_type="plan")
    tasks.transition(finished, "running")
    tasks.transition(finished, "completed", result="done")
    failed = tasks.create_task(user, title="Failed", prompt="p")
    tasks.transition(failed, "running")
    tasks.transition(failed, "failed", error="boom")
    cancelled = tasks.create_task(user, title="Cancelled", prompt="p")
    tasks.transition(cancelled, "cancelled")
    db.session.commit()
    answered = tasks.get_task(user, conversations.send_message(user, message="Hi").task_id)
    # An aware timestamp (as a service might set one) is shown in UTC.
    cancelled.cancelled_at = cancelled.cancelled_at.replace(tzinfo=UTC)
    every = [pending, finished, failed, cancelled, answered]

    schema = TaskSchema()
    for task in every:
        assert schema.dump(task) == marshmallow_dump(schema, task)
    assert TaskSchema(many=True).dump(every) == marshmallow_dump(schema, every, many=True)
    assert schema.dump(every, many=True) == marshmallow_dump(schema, every, many=True)
    assert TaskSchema(many=True).dump([]) == []
    assert schema.dump(answered)["conversation_id"].startswith("conv_")
    assert schema.dump(cancelled)["cancelled_at"].endswith("Z")

    claimed = ClaimedTaskSchema()  # a subclass with fields of its own
    assert claimed.dump(answered) == marshmallow_dump(claimed, answered)
    assert claimed.dump(answered)["messages"][0]["content"] == "Hi"


def test_task_dump_of_a_mapping_is_marshmallows(app_ctx):
    sample = {"id": "task_1", "title": "t", "priority": "3", "created_at": "2026-01-02T03:04:05+01:00"}
    schema = TaskSchema(only=("id", "title", "priority", "created_at"))
    assert schema.dump(sample) == {
        "id": "task_1",
        "title": "t",
        "priority": 3,
        "created_at": "2026-01-02T02:04:05.000Z",
    }
