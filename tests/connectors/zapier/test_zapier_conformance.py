from typing import ClassVar

import pytest

from connectors.base.testing import ConnectorConformance

# Zapier's resume URL for the actions that wait: on loopback (the kit's hub lets webhooks reach it); no task
# here ends, so nothing is sent there.
RESUME_URL = "http://127.0.0.1:9/hooks/catch/resume/token"


# The kit runs its own hub on SQLite (connectors.base.testing.plugin): nothing for the PostgreSQL pass.
@pytest.mark.sqlite_only
class TestZapierConformance(ConnectorConformance):
    connector_key = "zapier"
    inputs: ClassVar[dict] = {
        "create_task": {"title": "Fix the build", "prompt": "Make CI green"},
        "send_message": {"message": "Summarise the repo", "conversation_id": "1701.0002"},
        "find_task": {"status": "pending"},
        "create_task_and_wait": {"title": "Fix the build", "prompt": "Make CI green", "callback_url": RESUME_URL},
        "send_message_and_wait": {"message": "Summarise the repo", "callback_url": RESUME_URL},
    }

    def cause(self, app, user, event_type):
        """New Message lists the agent's replies only: a message.created of
        the agent's, recorded as a worker completes a Send Message's task."""
        if event_type != "message.created":
            return super().cause(app, user, event_type)
        sent = user.post("/api/v1/messages", json={"message": "hello"})
        assert sent.status_code == 201, sent.json
        from hub.db import begin_write, db
        from hub.models import User
        from hub.services import conversations, tasks

        with app.app_context():
            begin_write()  # the delivery worker writes to the same database
            owner = db.session.query(User).filter_by(username=user.username).one()
            task = tasks.get_task(owner, sent.json["task_id"])
            tasks.transition(task, "running")
            tasks.transition(task, "completed", result="hi there")
            conversations.append_reply(task)
            db.session.commit()
            db.session.remove()


def test_the_zapier_format_flattens_every_event_with_its_id(app_ctx, make_user):
    """Subscriptions with format "zapier" get the trigger's seed fields plus
    the event id; events without a trigger pass their data through flat."""
    from sqlalchemy import select

    from hub.db import db
    from hub.models import Event
    from hub.webhooks import formatters

    user = make_user("flat")
    task = user.create_task(title="Flat", agent_type="plan")
    user.post("/api/v1/messages", json={"message": "hi", "conversation_id": "t-1"})

    def zapier(event):
        return formatters.payload("zapier", event)

    created = db.session.scalar(select(Event).where(Event.type == "task.created", Event.task_id == task["id"]))
    assert zapier(created) == {
        "id": created.id,
        "task_id": task["id"],
        "title": "Flat",
        "status": "pending",
        "codebase_id": "global",
        "created_at": task["created_at"],
        "agent_type": "plan",
        "prompt": "Make CI green",
        "url": task["url"],
        "conversation_id": None,
        "external_id": None,
        "metadata": task["metadata"],
    }
    message = db.session.scalar(select(Event).where(Event.type == "message.created"))
    flat = zapier(message)
    assert flat["id"] == message.id and flat["conversation_id"] == "t-1" and flat["content"] == "hi"
