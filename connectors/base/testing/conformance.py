"""The checks every connector passes, for real: a hub app of the kit's own
(``connectors.base.testing.plugin``), HTTP through its test client, and hook
deliveries sent by a delivery worker process to a receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any, ClassVar

import marshmallow as ma
import pytest
from flask import Flask
from marshmallow import validate as ma_validate
from sqlalchemy import func, select
from standardwebhooks import Webhook
from werkzeug.test import TestResponse

from connectors.base.declarations import Action, Connector, Operation, Search, Trigger
from connectors.base.fields import check_item, field_type
from connectors.base.registry import GROUP, formatter_name
from connectors.base.testing.support import Delivery, HookReceiver, HubUser
from connectors.base.validation import validate
from hub.auth import SCOPES
from hub.db import begin_write, db
from hub.models import Event, User
from hub.services import accounts, questions, tasks


class ConnectorConformance:
    """Subclass it in a test module and name the connector's key; give an
    input where a made-up one (``made_up``) will not do::

        class TestMyConnector(ConnectorConformance):
            connector_key = "my_connector"
            inputs = {"create_thing": {"name": "x"}}  # optional
    """

    connector_key: str = ""
    inputs: ClassVar[dict[str, dict[str, Any]]] = {}
    _connector: Connector

    # -- hooks a connector's tests may override ------------------------------
    def valid_input(self, user: HubUser, operation: Operation) -> dict[str, Any]:
        """A valid input for ``operation``: ``inputs``' entry over a value
        made up for each other required field (see ``made_up``); override it
        when an input needs objects made first."""
        given = self.inputs.get(operation.key, {})
        schema = getattr(operation, "input_schema", None)
        fields = schema().fields if schema else {}
        made = {
            field.data_key or name: self.made_up(user, field)
            for name, field in fields.items()
            if field.required and (field.data_key or name) not in given
        }
        return {**made, **given}

    def made_up(self, user: HubUser, field: ma.fields.Field[Any]) -> Any:
        """A valid value for a required input field: the first item of the
        dropdown that fills it (``choices_from``: made by ``prepare_choices``
        when it lists nothing), its first choice, its range's least number,
        else one of its type."""
        if dropdown := field.metadata.get("choices_from"):
            trigger = next(t for t in self._connector.triggers if t.key == dropdown)
            items = self.listed(user, trigger)
            if not items:
                self.prepare_choices(user)
                items = self.listed(user, trigger)
            assert items, f"{dropdown} lists nothing: override prepare_choices to make what it lists"
            return items[0]["id"]
        for validator in field.validators:
            if isinstance(validator, ma_validate.OneOf):
                return next(iter(validator.choices))
            if isinstance(validator, ma_validate.Range) and validator.min is not None:
                return validator.min
        if isinstance(field, ma.fields.Email):
            return "conformance@example.com"
        by_type: dict[str, Any] = {"integer": 1, "number": 1, "boolean": True, "datetime": "2026-01-01T00:00:00Z"}
        return {**by_type, "object": {}, "list": [], "items": []}.get(field_type(field), "conformance")

    def cause(self, app: Flask, user: HubUser, event_type: str) -> None:
        """Make one event of ``event_type`` happen for ``user``; override it
        for events the default cannot make."""
        if event_type == "message.created":
            assert user.post("/api/v1/messages", json={"message": "hello"}).status_code == 201
            return
        task = user.create_task(title=f"conformance {event_type}")
        if event_type == "task.created":
            return

        with app.app_context():
            begin_write()  # the hub's writer lock: the delivery worker writes to the same database
            owner = db.session.query(User).filter_by(username=user.username).one()
            row = tasks.get_task(owner, task["task_id"])
            if event_type == "task.cancelled":
                tasks.transition(row, "cancelled")
            else:
                tasks.transition(row, "running")
                if event_type == "task.input_required":
                    questions.ask(row, "conformance: which one?")  # as the worker's ask does
                elif event_type != "task.started":
                    outcome: dict[str, Any] = (
                        {"result": "done"} if event_type == "task.completed" else {"error": "broke"}
                    )
                    tasks.transition(row, event_type.split(".")[1], **outcome)
            db.session.commit()
            db.session.remove()

    def prepare_choices(self, user: HubUser) -> None:
        """Make what the dropdown lists (hidden triggers) show: a pending
        task by default; override it when a list needs other objects."""
        user.create_task(title="conformance choice")

    # -- fixtures ------------------------------------------------------------
    @pytest.fixture
    def connector(self, hub_app: Flask) -> Connector:
        return self.mounted(hub_app)

    def mounted(self, app: Flask) -> Connector:
        """The app's connector ``connector_key``, or a failure that says why
        it is not mounted: what is mounted, refused (and why), disabled."""
        state = app.extensions["hub_connectors"]
        if self.connector_key not in state["enabled"]:
            refused = "".join(f"\n  {key}: {reason}" for key, reason in sorted(state["refused"].items()))
            pytest.fail(
                f"connector '{self.connector_key}' is not mounted."
                f"\nMounted (entry-point group {GROUP}): {sorted(state['enabled']) or 'none'}"
                f"\nRefused:{refused or ' none'}\nDisabled by the settings: {state['disabled'] or 'none'}",
                pytrace=False,
            )
        connector: Connector = state["enabled"][self.connector_key]
        self._connector = connector  # for made_up's dropdowns
        return connector

    @pytest.fixture
    def user(self, hub_user: Callable[..., HubUser]) -> HubUser:
        # enterprise: the kit makes many calls and tasks; tier limits are the hub's own tests
        return hub_user("conformance", tier="enterprise")

    # -- helpers -------------------------------------------------------------
    def url(self, kind: str, key: str) -> str:
        return f"/connectors/{self.connector_key}/{kind}/{key}"

    def call(
        self,
        user: HubUser,
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

    def listed(self, user: HubUser, operation: Trigger | Search) -> list[dict[str, Any]]:
        """What a trigger or search lists: 200 and a list of valid items."""
        response = self.call(user, operation, self.valid_input(user, operation))
        assert response.status_code == 200, (operation.key, _json(response))
        items = _json(response)
        assert isinstance(items, list), (operation.key, items)
        for item in items:
            assert check_item(operation.output_schema, item) == [], (operation.key, item)
        return items

    # -- the checks ----------------------------------------------------------
    def test_manifest_is_valid_and_registered_by_its_key(self, connector: Connector) -> None:
        validate(connector, self.connector_key)
        names = {ep.name for ep in entry_points(group=GROUP)}
        assert self.connector_key in names

    def test_samples_are_valid_and_show_every_output_field(self, connector: Connector) -> None:
        for operation in connector.all_operations():
            assert check_item(operation.output_schema, operation.sample) == [], operation.key
            assert set(operation.sample) == set(operation.output_schema().fields), operation.key

    def test_every_operation_is_in_the_openapi_document(self, connector: Connector, user: HubUser) -> None:
        paths = _json(user.client.get("/openapi.json"))["paths"]
        for operation in connector.all_operations():
            assert self.url(self.kind(operation), operation.key) in paths, operation.key

    def test_scopes_are_enforced(self, hub_app: Flask, connector: Connector, user: HubUser) -> None:
        """401 without a token; 403 insufficient_scope with a key of every
        scope but the operation's own."""
        for operation in connector.all_operations():
            response = user.client.open(
                self.url(self.kind(operation), operation.key),
                method="POST" if self.kind(operation) == "actions" else "GET",
            )
            assert response.status_code == 401, (operation.key, response.get_data(as_text=True))
            with hub_app.app_context():
                _, lacking = accounts.create_api_key(user.username, scopes=[s for s in SCOPES if s != operation.scope])
            response = self.call(
                user, operation, self.valid_input(user, operation), headers={"Authorization": f"Bearer {lacking}"}
            )
            assert response.status_code == 403, (operation.key, _json(response))
            assert _json(response)["code"] == "insufficient_scope", operation.key

    def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
        self, hub_app: Flask, connector: Connector, user: HubUser
    ) -> None:
        taking_input: tuple[Action | Search, ...] = (*connector.actions, *connector.searches)
        for operation in taking_input:
            good = self.valid_input(user, operation)
            for name, bad in self.bad_inputs(operation, good):
                before = self._event_count(hub_app, user)
                response = self.call(user, operation, bad)
                assert response.status_code == 422, (operation.key, name, _json(response))
                assert name in _json(response)["errors"], (operation.key, name, _json(response))
                assert self._event_count(hub_app, user) == before, (operation.key, name)

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

    def test_actions_answer_their_output(self, connector: Connector, user: HubUser) -> None:
        """201 Created from an action that creates (as the core API's
        creates), 200 from one that does not, with a valid item."""
        for action in connector.actions:
            response = self.call(user, action, self.valid_input(user, action))
            expected = 201 if getattr(action, "creates", True) else 200
            assert response.status_code == expected, (action.key, _json(response))
            assert check_item(action.output_schema, _json(response)) == [], action.key

    def test_searches_and_triggers_list_items_with_stable_unique_ids(
        self, hub_app: Flask, connector: Connector, user: HubUser
    ) -> None:
        for trigger in connector.triggers:
            if trigger.event:
                self.cause(hub_app, user, trigger.event)
                self.cause(hub_app, user, trigger.event)
        listing: tuple[Trigger | Search, ...] = (*connector.triggers, *connector.searches)
        for operation in listing:
            ids = [item["id"] for item in self.listed(user, operation)]
            assert len(ids) == len(set(ids)), operation.key
            assert [item["id"] for item in self.listed(user, operation)] == ids, operation.key
            if getattr(operation, "event", None):
                assert len(ids) >= 2, operation.key

    def test_dropdown_lists_show_a_label(self, connector: Connector, user: HubUser) -> None:
        """A hidden trigger (a dropdown's choices) lists items, each with a
        readable label in its ``label_field``."""
        self.prepare_choices(user)
        for trigger in connector.triggers:
            if trigger.event or not (trigger.hidden or trigger.label_field):
                continue
            items = self.listed(user, trigger)
            assert items, f"{trigger.key} lists nothing: override prepare_choices to make what it lists"
            if trigger.label_field:
                for item in items:
                    label = item.get(trigger.label_field)
                    assert isinstance(label, str), (trigger.key, trigger.label_field, item)
                    assert label.strip(), (trigger.key, trigger.label_field, item)

    def test_triggers_list_newest_first(self, hub_app: Flask, connector: Connector, user: HubUser) -> None:
        for trigger in connector.triggers:
            if not trigger.event:
                continue
            self.cause(hub_app, user, trigger.event)
            older = self.listed(user, trigger)
            self.cause(hub_app, user, trigger.event)
            newer = self.listed(user, trigger)
            assert len(newer) == len(older) + 1, trigger.key
            assert newer[1:] == older, trigger.key
            assert newer[0]["id"] not in {i["id"] for i in older}, trigger.key

    def test_each_trigger_is_delivered_signed_as_it_lists(
        self,
        hub_app: Flask,
        connector: Connector,
        user: HubUser,
        hook_receiver: HookReceiver,
        hub_delivery_worker: object,
    ) -> None:
        """A REST hook with the trigger's format (``<key>.<trigger>``) and its
        fixed filters is sent, by the delivery worker, a POST signed with the
        hook's secret (Standard Webhooks) whose body is the item the trigger
        lists for that event."""
        for trigger in connector.triggers:
            if not trigger.event:
                continue
            path = f"/{trigger.key}"
            subscribed = user.post(
                "/api/v1/hooks",
                json={
                    "event": trigger.event,
                    "target_url": hook_receiver.url(path),
                    "format": formatter_name(connector, trigger),
                    **dict(trigger.match),
                },
            )
            assert subscribed.status_code == 201, (trigger.key, _json(subscribed))
            self.cause(hub_app, user, trigger.event)
            item = self.listed(user, trigger)[0]

            def of_the_item(delivery: Delivery, item_id: Any = item["id"]) -> bool:
                return bool(delivery.json().get("id") == item_id)

            delivery = hook_receiver.wait_for(path, of_the_item)
            Webhook(_json(subscribed)["secret"]).verify(delivery.body, delivery.headers)  # raises unless signed so
            assert delivery.json() == item, trigger.key

    @staticmethod
    def _event_count(app: Flask, user: HubUser) -> int:
        with app.app_context():
            owner = db.session.scalars(select(User).where(User.username == user.username)).one()
            count = db.session.scalars(select(func.count()).select_from(Event).where(Event.user_pk == owner.pk)).one()
            db.session.remove()
        return count


def _json(response: TestResponse) -> Any:
    """The response's JSON body, which the checks index without knowing its shape."""
    assert response.is_json, (response.status_code, response.get_data(as_text=True))
    return response.json
