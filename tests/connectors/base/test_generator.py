"""The generator helper (issue 23 item 4): a connector's declarations walked
into plain descriptions, which a platform's generator maps to its own app
format without reading marshmallow fields (Zapier's is built on it:
tests/connectors/zapier/test_zapier_app_definition.py)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from connectors.base import Action, Connector, Manifest, Search, Trigger
from connectors.base.fields import FIELD_TYPES
from connectors.base.generator import Choice, describe, describe_fields, flatten_objects
from connectors.base.inputs import BlankIsMissing
from connectors.base.labels import STATUS_LABELS


class Thing(ma.Schema):
    id = fields.String()
    size = fields.Integer(metadata={"label": "Size (cm)"})


class Box(ma.Schema):
    id = fields.String()
    thing = fields.Nested(Thing)
    things = fields.List(fields.Nested(Thing))
    colours = fields.List(fields.String())
    extra = fields.Dict()
    packed_at = fields.DateTime()
    weight = fields.Float()
    fragile = fields.Boolean()


class BoxInput(BlankIsMissing):
    name = fields.String(required=True, metadata={"description": "What to call it.", "long": True})
    status = fields.String(
        load_default="pending",
        validate=validate.OneOf(["pending", "running"]),
        metadata={"choice_labels": STATUS_LABELS},
    )
    box_url = fields.String(metadata={"choices_from": "box_choices", "search_from": "find_box"})


class Filters(BlankIsMissing):
    codebase_id = fields.String(allow_none=True)


def _connector() -> Connector:
    box_sample = {"id": "b1"}
    return Connector(
        manifest=Manifest(key="boxes", name="Boxes", version="1.0.0", scopes=("tasks:read",), docs_url="/d"),
        triggers=(
            Trigger(
                key="new_box",
                noun="Box",
                label="New Box",
                description="d",
                event="task.created",
                formatter=dict,
                scope="tasks:read",
                output_schema=Box,
                input_schema=Filters,
                match=(("role", "assistant"),),
                sample=box_sample,
            ),
            Trigger(
                key="box_choices",
                noun="Box",
                label="Boxes",
                description="d",
                list=lambda user, **kw: [],
                hidden=True,
                scope="tasks:read",
                output_schema=Thing,
                sample={"id": "t"},
            ),
        ),
        actions=(
            Action(
                key="pack",
                noun="Box",
                label="Pack",
                description="d",
                input_schema=BoxInput,
                output_schema=Box,
                perform=dict,
                sample=box_sample,
                scope="tasks:read",
            ),
        ),
        searches=(
            Search(
                key="find_box",
                noun="Box",
                label="Find Box",
                description="d",
                input_schema=Filters,
                output_schema=Box,
                perform=lambda user, **kw: [],
                sample=box_sample,
                scope="tasks:read",
            ),
        ),
    )


def test_operations_are_described_with_their_routes_and_hook_format():
    connector = _connector()
    described = describe(connector)
    new_box, choices = described.triggers
    [pack], [find] = described.actions, described.searches
    assert (new_box.kind, new_box.method, new_box.path) == ("trigger", "GET", "/connectors/boxes/triggers/new_box")
    assert (new_box.event, new_box.format, new_box.match) == ("task.created", "boxes.new_box", {"role": "assistant"})
    assert [f.key for f in new_box.inputs] == ["codebase_id"] and new_box.inputs[0].nullable
    assert (choices.hidden, choices.event, choices.format, choices.inputs) == (True, None, None, ())
    assert (pack.kind, pack.method, pack.path, pack.declaration) == (
        "action",
        "POST",
        "/connectors/boxes/actions/pack",
        connector.actions[0],
    )
    assert (find.kind, find.path, find.label, find.noun) == (
        "search",
        "/connectors/boxes/searches/find_box",
        "Find Box",
        "Box",
    )


def test_input_fields_carry_label_help_required_default_choices_and_their_sources():
    connector = _connector()
    name, status, box_url = describe(connector).actions[0].inputs
    assert (name.label, name.help_text, name.required, name.long, name.type) == (
        "Name",
        "What to call it.",
        True,
        True,
        "string",
    )
    assert (status.required, status.default) == (False, "pending")
    assert status.choices == (Choice("pending", "Pending (waiting for an agent)"), Choice("running", "Running"))
    assert box_url.label == "Box URL"  # from the key when none is declared
    assert box_url.choices_from is connector.trigger("box_choices")
    assert box_url.search_from is connector.search("find_box")
    assert (name.choices_from, name.default, name.choices) == (None, None, ())


def test_output_fields_keep_their_nesting_and_flatten_on_request():
    box = describe_fields(Box)
    types = {f.key: f.type for f in box}
    assert types == {
        "id": "string",
        "thing": "object",
        "things": "items",
        "colours": "list",
        "extra": "object",
        "packed_at": "datetime",
        "weight": "number",
        "fragile": "boolean",
    }
    assert set(types.values()) <= set(FIELD_TYPES)
    by_key = {f.key: f for f in box}
    assert [(c.key, c.label, c.type) for c in by_key["thing"].children] == [
        ("id", "ID", "string"),
        ("size", "Size (cm)", "integer"),
    ]
    assert [c.key for c in by_key["things"].children] == ["id", "size"]
    assert (by_key["colours"].item_type, by_key["extra"].children) == ("string", ())

    flat = flatten_objects(box, ".")
    assert [f.key for f in flat] == [
        "id",
        "thing.id",
        "thing.size",
        "things",
        "colours",
        "extra",
        "packed_at",
        "weight",
        "fragile",
    ]
    assert flat[2].label == "Thing Size (cm)"
    assert [c.key for c in flat[3].children] == ["id", "size"]  # line items stay one field
