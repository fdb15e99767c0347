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

from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import validate as ma_validate
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from connectors.base.declarations import Action, Connector, Operation, Search
from connectors.base.fields import check_item, field_type
from connectors.base.registry import GROUP, formatter_name
from connectors.base.validation import validate
from hub.auth import SCOPES
from hub.db import db
from hub.models import Event, User
from hub.services import accounts, tasks
from hub.webhooks import formatters


class ApiUser(Protocol):
    """What the hub's ``make_user`` fixture gives: a user with an API key,
    calling the hub through the test client with it."""

    username: str
    client: FlaskClient

    def get(self, url: str, **kw: Any) -> TestResponse: ...

    def post(self, url: str, **kw: Any) -> TestResponse: ...

    def create_task(self, **fields: Any) -> dict[str, Any]: ...


class ConnectorConformance:
    connector_key: str = ""
    inputs: ClassVar[dict[str, dict[str, Any]]] = {}

    # -- hooks a connector's tests may override ------------------------------
    def valid_input(self, user: ApiUser, operation: Operation) -> dict[str, Any]:
        return dict(self.inputs.get(operation.key, {}))

    def cause(self, app: Flask, user: ApiUser, event_type: str) -> None:
        """Make one event of ``event_type`` happen for ``user``."""
        if event_type == "message.created":
            assert user.post("/api/v1/messages", json={"message": "hello"}).status_code == 201
            return
        task = user.create_task(title=f"conformance {event_type}")
        if event_type == "task.created":
            return

        with app.app_context():
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
    def connector(self, app: Flask) -> Connector:
        found = app.extensions["hub_connectors"]["enabled"]
        assert self.connector_key in found, (
            f"connector '{self.connector_key}' is not mounted; refused: {app.extensions['hub_connectors']['refused']}"
        )
        connector: Connector = found[self.connector_key]
        return connector

    @pytest.fixture
    def user(self, make_user: Any) -> ApiUser:
        # enterprise: the kit makes many calls and tasks; tier limits are tested on their own
        user: ApiUser = make_user("conformance", tier="enterprise")
        return user

    def url(self, kind: str, key: str) -> str:
        return f"/connectors/{self.connector_key}/{kind}/{key}"

    def call(
        self,
        user: ApiUser,
        operation: Operation,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        kind = self.kind(operation)
        if kind == "actions":
            return user.post(self.url(kind, operation.key), json=body or {}, headers=headers or {})
        return user.get(self.url(kind, operation.key), query_string=body or {}, headers=headers or {})

    @staticmethod
    def kind(operation: Operation) -> str:
        return (
            "actions" if isinstance(operation, Action) else "searches" if isinstance(operation, Search) else "triggers"
        )

    # -- the checks ----------------------------------------------------------
    def test_manifest_is_valid_and_registered_by_its_key(self, connector: Connector) -> None:
        validate(connector, self.connector_key)
        names = {ep.name for ep in entry_points(group=GROUP)}
        assert self.connector_key in names

    def test_samples_are_valid_and_show_every_output_field(self, connector: Connector) -> None:
        for operation in connector.all_operations():
            assert check_item(operation.output_schema, operation.sample) == [], operation.key
            assert set(operation.sample) == set(operation.output_schema().fields), operation.key

    def test_every_operation_is_in_the_openapi_document(self, connector: Connector, user: ApiUser) -> None:
        paths = _json(user.client.get("/openapi.json"))["paths"]
        for operation in connector.all_operations():
            assert self.url(self.kind(operation), operation.key) in paths, operation.key

    def test_scopes_are_enforced(self, app: Flask, connector: Connector, user: ApiUser) -> None:

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
            assert _json(response)["code"] == "insufficient_scope"

    def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
        self, app: Flask, connector: Connector, user: ApiUser
    ) -> None:
        taking_input: tuple[Action | Search, ...] = (*connector.actions, *connector.searches)
        for operation in taking_input:
            good = self.valid_input(user, operation)
            for name, bad in self.bad_inputs(operation, good):
                before = self._event_count(app, user)
                response = self.call(user, operation, bad)
                assert response.status_code == 422, (operation.key, name, response.json)
                assert name in _json(response)["errors"], (operation.key, name, response.json)
                assert self._event_count(app, user) == before, (operation.key, name)

    def bad_inputs(self, operation: Action | Search, good: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
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

    def test_outputs_have_a_stable_unique_id(self, app: Flask, connector: Connector, user: ApiUser) -> None:
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
            assert first.status_code == 200, (operation.key, first.json)
            assert isinstance(first.json, list), (operation.key, first.json)
            for item in first.json:
                assert check_item(operation.output_schema, item) == [], (operation.key, item)
            ids = [item["id"] for item in first.json]
            assert len(ids) == len(set(ids)), operation.key
            assert [item["id"] for item in _json(again)] == ids, operation.key
            if getattr(operation, "event", None):
                assert len(ids) >= 2, operation.key

    def test_triggers_list_newest_first(self, app: Flask, connector: Connector, user: ApiUser) -> None:
        for trigger in connector.triggers:
            if not trigger.event:
                continue
            self.cause(app, user, trigger.event)
            older = _json(self.call(user, trigger))
            self.cause(app, user, trigger.event)
            newer = _json(self.call(user, trigger))
            assert len(newer) == len(older) + 1, trigger.key
            assert newer[1:] == older, trigger.key
            assert newer[0]["id"] not in {i["id"] for i in older}, trigger.key

    def test_hook_deliveries_carry_the_same_items_as_the_trigger(
        self, app: Flask, connector: Connector, user: ApiUser
    ) -> None:
        """A REST hook with ``format: "<key>.<trigger>"`` is sent exactly the
        item the trigger lists (same fields, same id)."""

        for trigger in connector.triggers:
            if not trigger.event:
                continue
            self.cause(app, user, trigger.event)
            listed = _json(self.call(user, trigger))[0]
            with app.app_context():
                event = db.session.scalars(select(Event).where(Event.id == listed["id"])).one()
                sent = formatters.payload(formatter_name(connector, trigger), event)
                db.session.remove()
            assert sent == listed, trigger.key

    @staticmethod
    def _event_count(app: Flask, user: ApiUser) -> int:

        with app.app_context():
            owner = db.session.scalars(select(User).where(User.username == user.username)).one()
            count = db.session.scalars(select(func.count()).select_from(Event).where(Event.user_pk == owner.pk)).one()
            db.session.remove()
        return count


def _json(response: TestResponse) -> Any:
    """The response's JSON body, which the checks index without knowing its shape."""
    assert response.is_json, (response.status_code, response.get_data(as_text=True))
    return response.json
