"""The conformance test kit every connector's tests inherit.

    from connectors.base.testing import ConnectorConformance

    class TestMyConnector(ConnectorConformance):
        connector_key = "my_connector"
        inputs = {"create_thing": {"name": "x"}}   # a valid input per action/search

It runs inside the hub's test suite and uses its fixtures (``app``,
``make_user``: see tests/conftest.py). Override ``valid_input`` when an input
needs objects made first, and ``cause`` for events the default cannot make.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from marshmallow import validate as ma_validate

from connectors.base.fields import check_item, field_type
from connectors.base.registry import GROUP
from connectors.base.validation import validate


class ConnectorConformance:
    connector_key: str = ""
    inputs: dict[str, dict] = {}

    # -- hooks a connector's tests may override ------------------------------
    def valid_input(self, user, operation) -> dict:
        return dict(self.inputs.get(operation.key, {}))

    def cause(self, app, user, event_type: str) -> None:
        """Make one event of ``event_type`` happen for ``user``."""
        if event_type == "message.created":
            assert user.post("/api/v1/messages", json={"message": "hello"}).status_code == 201
            return
        task = user.create_task(title=f"conformance {event_type}")
        if event_type == "task.created":
            return
        from hub.services import tasks

        with app.app_context():
            from hub.db import db
            from hub.models import User

            owner = db.session.query(User).filter_by(username=user.username).one()
            row = tasks.get_task(owner, task["task_id"])
            if event_type == "task.cancelled":
                tasks.transition(row, "cancelled")
            else:
                tasks.transition(row, "running")
                if event_type != "task.started":
                    outcome = {"result": "done"} if event_type == "task.completed" else {"error": "broke"}
                    tasks.transition(row, event_type.split(".")[1], **outcome)
            db.session.commit()
            db.session.remove()

    # -- helpers -------------------------------------------------------------
    @pytest.fixture
    def connector(self, app):
        found = app.extensions["hub_connectors"]["enabled"]
        assert self.connector_key in found, (
            f"connector '{self.connector_key}' is not mounted; refused: {app.extensions['hub_connectors']['refused']}"
        )
        return found[self.connector_key]

    @pytest.fixture
    def user(self, make_user):
        # enterprise: the kit makes many calls and tasks; tier limits are tested on their own
        return make_user("conformance", tier="enterprise")

    def url(self, kind: str, key: str) -> str:
        return f"/connectors/{self.connector_key}/{kind}/{key}"

    def call(self, user, operation, body=None, headers=None):
        kind = self.kind(operation)
        if kind == "actions":
            return user.post(self.url(kind, operation.key), json=body or {}, headers=headers or {})
        return user.get(self.url(kind, operation.key), query_string=body or {}, headers=headers or {})

    @staticmethod
    def kind(operation) -> str:
        from connectors.base.declarations import Action, Search

        return (
            "actions" if isinstance(operation, Action) else "searches" if isinstance(operation, Search) else "triggers"
        )

    # -- the checks ----------------------------------------------------------
    def test_manifest_is_valid_and_registered_by_its_key(self, connector):
        validate(connector, self.connector_key)
        names = {ep.name for ep in entry_points(group=GROUP)}
        assert self.connector_key in names

    def test_samples_are_valid_and_show_every_output_field(self, connector):
        for operation in connector.all_operations():
            assert check_item(operation.output_schema, operation.sample) == [], operation.key
            assert set(operation.sample) == set(operation.output_schema().fields), operation.key

    def test_every_operation_is_in_the_openapi_document(self, connector, user):
        paths = user.client.get("/openapi.json").json["paths"]
        for operation in connector.all_operations():
            assert self.url(self.kind(operation), operation.key) in paths, operation.key

    def test_scopes_are_enforced(self, app, connector, user):
        from hub.auth import SCOPES
        from hub.services import accounts

        for operation in connector.all_operations():
            response = user.client.open(
                self.url(self.kind(operation), operation.key),
                method="POST" if self.kind(operation) == "actions" else "GET",
            )
            assert response.status_code == 401, operation.key
            with app.app_context():
                _, lacking = accounts.create_api_key(user.username, scopes=[s for s in SCOPES if s != operation.scope])
            response = self.call(
                user, operation, self.valid_input(user, operation), headers={"Authorization": f"Bearer {lacking}"}
            )
            assert response.status_code == 403, (operation.key, response.json)
            assert response.json["code"] == "insufficient_scope"

    def test_bad_input_is_refused_naming_the_field_and_changes_nothing(self, app, connector, user):
        for operation in (*connector.actions, *connector.searches):
            good = self.valid_input(user, operation)
            for name, bad in self.bad_inputs(operation, good):
                before = self._event_count(app, user)
                response = self.call(user, operation, bad)
                assert response.status_code == 422, (operation.key, name, response.json)
                assert name in response.json["errors"], (operation.key, name, response.json)
                assert self._event_count(app, user) == before, (operation.key, name)

    def bad_inputs(self, operation, good: dict):
        """(field, input) pairs that must be refused: each required field
        left out, each choice field given a value not among its choices, each
        number field given words."""
        for name, field in operation.input_schema().fields.items():
            if field.required:
                yield name, {k: v for k, v in good.items() if k != name}
            if any(isinstance(v, ma_validate.OneOf) for v in field.validators):
                yield name, {**good, name: "not-a-choice"}
            if field_type(field) in ("integer", "number", "datetime"):
                yield name, {**good, name: "not a number or date"}

    def test_outputs_have_a_stable_unique_id(self, app, connector, user):
        for trigger in connector.triggers:
            if trigger.event:
                self.cause(app, user, trigger.event)
                self.cause(app, user, trigger.event)
        for operation in connector.all_operations():
            if operation in connector.actions:
                response = self.call(user, operation, self.valid_input(user, operation))
                assert response.status_code in (200, 201), (operation.key, response.json)
                assert check_item(operation.output_schema, response.json) == [], operation.key
                continue
            first = self.call(user, operation, self.valid_input(user, operation))
            again = self.call(user, operation, self.valid_input(user, operation))
            assert first.status_code == 200 and isinstance(first.json, list), (operation.key, first.json)
            for item in first.json:
                assert check_item(operation.output_schema, item) == [], (operation.key, item)
            ids = [item["id"] for item in first.json]
            assert len(ids) == len(set(ids)), operation.key
            assert [item["id"] for item in again.json] == ids, operation.key
            if getattr(operation, "event", None):
                assert len(ids) >= 2, operation.key

    def test_triggers_list_newest_first(self, app, connector, user):
        for trigger in connector.triggers:
            if not trigger.event:
                continue
            self.cause(app, user, trigger.event)
            older = self.call(user, trigger).json
            self.cause(app, user, trigger.event)
            newer = self.call(user, trigger).json
            assert len(newer) == len(older) + 1, trigger.key
            assert newer[1:] == older and newer[0]["id"] not in {i["id"] for i in older}, trigger.key

    def test_hook_deliveries_carry_the_same_items_as_the_trigger(self, app, connector, user):
        """A REST hook with ``format: "<key>.<trigger>"`` is sent exactly the
        item the trigger lists (same fields, same id)."""
        from sqlalchemy import select

        from connectors.base.registry import formatter_name
        from hub.db import db
        from hub.models import Event
        from hub.webhooks import formatters

        for trigger in connector.triggers:
            if not trigger.event:
                continue
            self.cause(app, user, trigger.event)
            listed = self.call(user, trigger).json[0]
            with app.app_context():
                event = db.session.scalar(select(Event).where(Event.id == listed["id"]))
                sent = formatters.payload(formatter_name(connector, trigger), event)
                db.session.remove()
            assert sent == listed, trigger.key

    @staticmethod
    def _event_count(app, user) -> int:
        from sqlalchemy import func, select

        from hub.db import db
        from hub.models import Event, User

        with app.app_context():
            owner = db.session.scalar(select(User).where(User.username == user.username))
            count = db.session.scalar(select(func.count()).select_from(Event).where(Event.user_pk == owner.pk))
            db.session.remove()
        return count
