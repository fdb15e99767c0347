"""Nested outputs (issue 23 item 3): an output object with fields of its own,
line items and lists of plain values are checked at any depth, delivered by
REST hooks as they are, and become Zapier's ``parent__child`` output fields
and ``children`` (line items), which Zapier's own schema accepts.

The connector under test (nested/nested_outputs_connector.py) is installed
as a plugin would be: an entry point on a path the hub and its delivery
worker both read."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

import marshmallow as ma
import pytest
from marshmallow import fields
from support.delivery import subscribe
from support.zapier_node import validate as zapier_validate

from connectors.base import InvalidConnector, validate
from connectors.base.fields import check_item

HERE = Path(__file__).with_name("nested")
sys.path.insert(0, str(HERE))  # the fixture connector, importable here as in the worker
import nested_outputs_connector as nested  # noqa: E402


@pytest.fixture(autouse=True)
def installed(tmp_path, monkeypatch):
    """The connector's entry point, as pip would install it (before the app
    is made: autouse fixtures come first). Returns the PYTHONPATH that shows
    it to another process."""
    site = tmp_path / "site"
    info = site / "codetether_nested_outputs-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: codetether-nested-outputs\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[codetether_hub.connectors]\nnested = nested_outputs_connector:connector\n")
    monkeypatch.syspath_prepend(str(site))
    return os.pathsep.join(p for p in (str(site), str(HERE), os.environ.get("PYTHONPATH")) if p)


def _with_sample(**sample):
    trigger = dataclasses.replace(
        nested.connector.triggers[0], sample={**nested.connector.triggers[0].sample, **sample}
    )
    return dataclasses.replace(nested.connector, triggers=(trigger,))


def _problems(connector):
    with pytest.raises(InvalidConnector) as refused:
        validate(connector, "nested")
    return refused.value.problems


def test_the_nested_connector_is_valid_and_its_sample_checks_at_every_depth():
    validate(nested.connector, "nested")
    assert check_item(nested.Outline, nested.connector.triggers[0].sample) == []


@pytest.mark.parametrize(
    ("sample", "problem"),
    [
        (
            {"task": {"id": "t", "title": "x", "agent": {"type": 5, "label": "Build"}}},
            "sample: `task.agent.type` is not a string: 5",
        ),
        ({"task": {"id": "t", "title": "x", "agent": "build"}}, "sample: `task.agent` is not an object: 'build'"),
        ({"task": {"id": "t", "colour": "red"}}, "sample: `task.colour` is not declared in TaskRef"),
        (
            {"labels": [{"name": "a", "value": "b"}, {"name": "c", "value": 7}]},
            "sample: `labels[1].value` is not a string: 7",
        ),
        ({"labels": ["channel"]}, "sample: `labels[0]` is not an object: 'channel'"),
        ({"labels": {"name": "a"}}, "sample: `labels` is not a list of objects: {'name': 'a'}"),
        ({"words": ["Fix", 2]}, "sample: `words[1]` is not a string: 2"),
    ],
)
def test_validation_refuses_a_wrong_nested_value_naming_its_path(sample, problem):
    assert f"trigger 'new_outline': {problem}" in _problems(_with_sample(**sample))


def test_a_field_declaring_its_type_in_metadata_is_checked_and_an_unknown_type_named_not_a_crash():
    class Declared(ma.Schema):
        id = fields.String()
        extra = fields.Raw(metadata={"type": "object"})  # JSON Schema's words, as apispec reads them
        when = fields.Raw(metadata={"type": "date-time"})

    assert check_item(Declared, {"id": "1", "extra": {"a": {"b": 1}}, "when": "2026-01-15T09:00:00Z"}) == []
    assert check_item(Declared, {"id": "1", "extra": "x"}) == ["`extra` is not an object: 'x'"]

    class Odd(ma.Schema):
        id = fields.String()
        shape = fields.Raw(metadata={"type": "polygon"})

    assert check_item(Odd, {"id": "1", "shape": [1, 2]}) == [
        "`shape` declares type 'polygon', not one of string, integer, number, boolean, datetime, object, items, list"
    ]


@pytest.mark.usefixtures("webhook_settings")
def test_a_hook_delivery_carries_the_nested_item_the_trigger_lists(
    app, make_user, receiver, start_delivery_worker, installed
):
    start_delivery_worker(PYTHONPATH=installed)
    user = make_user("nell", scopes=["tasks:read", "tasks:write"])
    hook = subscribe(user, receiver, format="nested.new_outline")
    assert hook["format"] == "nested.new_outline"
    task = user.post(
        "/api/v1/tasks",
        json={
            "title": "Fix the login bug",
            "prompt": "p",
            "agent_type": "plan",
            "metadata": {"team": "web", "channel": "C1"},
        },
    ).json

    [delivery] = receiver.wait_for(1)
    [listed] = user.get("/connectors/nested/triggers/new_outline").json
    body = delivery.json()
    assert body == listed
    assert body["task"] == {
        "id": task["id"],
        "title": "Fix the login bug",
        "agent": {"type": "plan", "label": "Plan - review and plan, no changes"},
    }
    assert body["labels"] == [{"name": "channel", "value": "C1"}, {"name": "team", "value": "web"}]
    assert body["words"] == ["Fix", "the", "login", "bug"]
    assert check_item(nested.Outline, body) == []


def test_the_connector_serves_its_readme_as_its_docs(client):
    manifest = next(c for c in client.get("/connectors/").json if c["key"] == "nested")
    docs = client.get(manifest["docs_url"])
    assert docs.status_code == 200 and docs.mimetype == "text/markdown"
    assert docs.get_data(as_text=True) == (HERE / "README.md").read_text()


def test_the_zapier_generator_maps_nested_outputs_and_zapier_accepts_them(tmp_path):
    from connectors.zapier.export import package_files

    files = package_files(nested.connector, "https://hub.example.com")
    trigger = json.loads(files["definition.json"])["triggers"]["new_outline"]["operation"]
    assert trigger["outputFields"] == [
        {"key": "id", "label": "Event ID", "type": "string"},
        {"key": "task__id", "label": "Task ID", "type": "string"},
        {"key": "task__title", "label": "Task Title", "type": "string"},
        {"key": "task__agent__type", "label": "Task Agent Type", "type": "string"},
        {"key": "task__agent__label", "label": "Task Agent Label", "type": "string"},
        {
            "key": "labels",
            "label": "Labels",
            "children": [
                {"key": "name", "label": "Name", "type": "string"},
                {"key": "value", "label": "Value", "type": "string"},
            ],
        },
        {"key": "words", "label": "Title Words", "type": "string", "list": True},
    ]
    assert trigger["sample"] == nested.connector.triggers[0].sample  # Zapier flattens the sample itself
    assert trigger["performSubscribe"]["body"]["format"] == "nested.new_outline"
    out = tmp_path / "app"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    assert zapier_validate(out) == {
        "schemaErrors": [],
        "coreErrors": [],
        "version": "0.1.0",
        "platformVersion": "19.1.0",
    }
