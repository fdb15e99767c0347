"""0014 on a database holding callbacks: up keeps them (one per task, as 0013
held them) and then takes a task's second; down keeps each task's first."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from hub.db import db
from hub.models import Subscription
from hub.services import callbacks
from hub.services.accounts import get_user

pytestmark = pytest.mark.usefixtures("webhook_settings")


def test_several_callbacks_per_task_up_and_down_with_data(app, alice):
    first = alice.post(
        "/api/v1/tasks", json={"title": "t", "prompt": "p", "callback_url": "http://127.0.0.1:9/resume/first"}
    ).json
    with app.app_context():
        downgrade(revision="0013_mcp_oauth")
        db.session.remove()
        upgrade()
        kept = db.session.scalars(select(Subscription).where(Subscription.task_id == first["id"])).all()
        assert [(s.target_url, s.headers_sealed, s.progress_event) for s in kept] == [
            ("http://127.0.0.1:9/…", None, None)
        ]
        second = callbacks.attach(
            get_user("alice"), first["id"], "http://127.0.0.1:9/resume/second", headers={"Authorization": "Bearer x"}
        )
        assert second.callback_id != kept[0].id  # type: ignore[attr-defined]
        db.session.remove()

        downgrade(revision="0013_mcp_oauth")
        rows = db.session.execute(db.text("SELECT id FROM subscriptions WHERE task_id = :t"), {"t": first["id"]}).all()
        assert [row[0] for row in rows] == [kept[0].id]  # the first stays; 0013 holds one a task
        db.session.remove()
        upgrade()
        db.session.remove()
    assert alice.get(f"/api/v1/tasks/{first['id']}/callback").json["id"] == kept[0].id
