"""Zapier's Create Task takes the API's own task fields
(hub.schemas.TaskCreateSchema) and adds only how Zapier shows them; so does
Send Message with the API's message fields."""

import pytest
from marshmallow import validate

from connectors.zapier.schemas import CREATE_TASK_LABELS, SEND_MESSAGE_LABELS
from hub.schemas import MessageCreateSchema, TaskCreateSchema

SHARED = TaskCreateSchema().fields


@pytest.mark.parametrize(
    ("shared", "labels"), [(TaskCreateSchema, CREATE_TASK_LABELS), (MessageCreateSchema, SEND_MESSAGE_LABELS)]
)
def test_every_shared_field_has_a_label_and_help_text_and_none_is_invented(shared, labels):
    assert set(labels) == set(shared().fields)
    assert all(label.label and label.help_text for label in labels.values())


def test_the_apps_create_task_fields_are_the_apis(client):
    app = client.get("/connectors/zapier/definition.json").json
    inputs = app["creates"]["create_task"]["operation"]["inputFields"]
    assert [f["key"] for f in inputs] == list(SHARED)
    for item in inputs:
        field, label = SHARED[item["key"]], CREATE_TASK_LABELS[item["key"]]
        assert item["required"] == field.required, item
        one_of = next((v for v in field.validators if isinstance(v, validate.OneOf)), None)
        assert [c["value"] for c in item.get("choices", [])] == list(one_of.choices if one_of else []), item
        assert item.get("default") == (str(field.load_default) if field.load_default else None), item
        assert (item["label"], item["helpText"]) == (label.label, label.help_text)
    body = app["creates"]["create_task"]["operation"]["perform"]["body"]
    assert set(body) == set(SHARED)


@pytest.fixture
def carol(make_user):
    return make_user("carol", tier="enterprise")  # no concurrent-task limit in the way


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "p"}, "title"),
        ({"title": " ", "prompt": "p"}, "title"),
        ({"title": "t" * 501, "prompt": "p"}, "title"),
        ({"title": "t", "prompt": "p" * 100_001}, "prompt"),
        ({"title": "t", "prompt": "p", "agent_type": "painter"}, "agent_type"),
        ({"title": "t", "prompt": "p", "priority": 1.5}, "priority"),
        ({"title": "t", "prompt": "p", "priority": 1_000_001}, "priority"),
        ({"title": "t", "prompt": "p", "model": "m" * 201}, "model"),
        ({"title": "t", "prompt": "p", "codebase_id": "c" * 65}, "codebase_id"),
        ({"title": "t", "prompt": "p", "codebase_id": "nope"}, "codebase_id"),
    ],
)
def test_the_api_and_zapier_refuse_the_same_input_on_the_same_field(carol, body, field):
    for url in ("/api/v1/tasks", "/connectors/zapier/actions/create_task"):
        response = carol.post(url, json=body)
        assert response.status_code == 422 and list(response.json["errors"]) == [field], (url, response.json)
    assert carol.get("/api/v1/tasks").json == []


def test_the_api_and_zapier_make_the_same_task(carol):
    body = {"title": "t", "prompt": "p", "agent_type": "plan", "priority": "7", "model": "m"}
    api = carol.post("/api/v1/tasks", json=body).json
    zap = carol.post("/connectors/zapier/actions/create_task", json=body).json
    shown = ("title", "prompt", "agent_type", "priority", "model", "codebase_id", "status")
    assert {k: api[k] for k in shown} == {k: zap[k] for k in shown}
    assert zap["priority"] == 7 and zap["codebase_id"] == "global"


def test_only_zapier_takes_a_blank_optional_field_as_left_empty(carol):
    """Zapier sends "" for a field a user left empty: its defaults apply there."""
    body = {"title": "t", "prompt": "p", "agent_type": "", "priority": ""}
    assert carol.post("/api/v1/tasks", json=body).status_code == 422
    zap = carol.post("/connectors/zapier/actions/create_task", json=body)
    assert zap.status_code == 201 and (zap.json["agent_type"], zap.json["priority"]) == ("build", 0)
