"""The pieces every connector needs, in connectors.base (issue 23 item 4):
blank optional inputs taken as missing, readable choice labels, the sample
task (the docs route: test_nested_outputs.py)."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError, fields, validate

from connectors.base.fields import check_item
from connectors.base.hub import AGENT_TYPES, STATUSES, TaskOutput
from connectors.base.inputs import BlankIsMissing
from connectors.base.labels import AGENT_TYPE_LABELS, STATUS_LABELS, label_for
from connectors.base.samples import TASK


class Filters(BlankIsMissing):
    title = fields.String(required=True)
    status = fields.String(validate=validate.OneOf(STATUSES), load_default="pending")
    note = fields.String(allow_none=True)


def test_a_blank_optional_input_is_missing_and_a_blank_required_one_is_refused_naming_it():
    assert Filters().load({"title": "t", "status": "", "note": None}) == {"title": "t", "status": "pending"}
    with pytest.raises(ValidationError) as refused:
        Filters().load({"title": "", "status": "painter"})
    assert set(refused.value.messages) == {"status"}  # "" is a title: the length rules are the field's own
    with pytest.raises(ValidationError) as refused:
        Filters().load({"title": None})
    assert set(refused.value.messages) == {"title"}


def test_every_agent_type_and_status_has_a_readable_label():
    assert list(AGENT_TYPE_LABELS) == list(AGENT_TYPES)
    assert list(STATUS_LABELS) == list(STATUSES)
    assert (label_for("codebase_id"), label_for("callback_url"), label_for("created_at")) == (
        "Codebase ID",
        "Callback URL",
        "Created At",
    )


def test_the_sample_task_has_the_shape_the_api_gives(make_user):
    task = make_user("sam").create_task()
    assert set(TASK) == set(task)
    assert check_item(TaskOutput, TASK) == []
