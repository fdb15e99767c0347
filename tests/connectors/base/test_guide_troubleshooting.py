"""The guide's troubleshooting (connectors/base/README.md, section 8) quotes
the messages the hub really gives: each mistake, made on the guide's example
connector, is refused with a message the guide shows word for word."""

from dataclasses import replace

import marshmallow as ma
import pytest
from codetether_example_connector import connector as example
from support import repo_root

from connectors.base import InvalidConnector, validate
from hub.plugins import hub_version

pytestmark = pytest.mark.sqlite_only  # opens no database

GUIDE = (repo_root() / "connectors/base/README.md").read_text()
NEW_TASK, *OTHER_TRIGGERS = example.triggers
OPEN_TASKS = example.triggers[3]
SAMPLE = NEW_TASK.sample
SCOPES = example.manifest.scopes


class NoId(ma.Schema):
    name = ma.fields.String()


class Untyped(ma.Schema):
    id = ma.fields.String()
    x = ma.fields.Raw(metadata={"type": "blob"})


def manifest(**changes):
    return replace(example, manifest=replace(example.manifest, **changes))


def new_task(**changes):
    return replace(example, triggers=(replace(NEW_TASK, **changes), *OTHER_TRIGGERS))


MISTAKES = {
    "key too long": (manifest(key="a_twenty_nine_char_key_abcdef"), "a_twenty_nine_char_key_abcdef"),
    "key characters": (manifest(key="My-Conn"), "My-Conn"),
    "entry-point name": (example, "examples"),
    "version": (manifest(version="1.0"), "example"),
    "scopes": (manifest(scopes=(*SCOPES, "admin")), "example"),
    "docs_url": (manifest(docs_url="docs"), "example"),
    "requires_hub excludes the hub": (manifest(requires_hub=">=99"), "example"),
    "requires_hub not a specifier": (manifest(requires_hub="latest"), "example"),
    "event trigger key": (new_task(key="a_very_long_trigger_key"), "example"),
    "declared twice": (replace(example, triggers=(NEW_TASK, *example.triggers)), "example"),
    "no label": (new_task(label=""), "example"),
    "scope not in the manifest": (
        replace(example, actions=(replace(example.actions[0], scope="codebases:read"), *example.actions[1:])),
        "example",
    ),
    "scope not the event's": (
        replace(new_task(scope="messages:read"), manifest=manifest(scopes=(*SCOPES, "messages:read")).manifest),
        "example",
    ),
    "unknown event": (new_task(event="task.exploded"), "example"),
    "no formatter": (new_task(formatter=None), "example"),
    "no event nor list": (
        replace(example, triggers=(*example.triggers[:3], replace(OPEN_TASKS, list=None))),
        "example",
    ),
    "label_field": (
        replace(example, triggers=(*example.triggers[:3], replace(OPEN_TASKS, label_field="name"))),
        "example",
    ),
    "filters": (new_task(match=(("colour", "red"),)), "example"),
    "sample value": (new_task(sample={**SAMPLE, "task": {**SAMPLE["task"], "retries": "three"}}), "example"),
    "sample key": (new_task(sample={**SAMPLE, "extra": 1}), "example"),
    "line item": (new_task(sample={**SAMPLE, "timeline": [{"id": "created", "at": 5}]}), "example"),
    "no id": (new_task(output_schema=NoId, sample={"name": "x"}), "example"),
    "declared type": (new_task(output_schema=Untyped, sample={"id": "1"}), "example"),
    "choices_from": (replace(example, triggers=example.triggers[:3]), "example"),
    "search_from": (replace(example, searches=()), "example"),
    "perform": (replace(example, actions=(replace(example.actions[0], perform=None), *example.actions[1:])), "example"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_refusal_is_quoted_in_the_guide(mistake):
    broken, name = MISTAKES[mistake]
    with pytest.raises(InvalidConnector) as refused:
        validate(broken, name)
    for problem in refused.value.problems:
        # Operations' problems are quoted after their "trigger 'new_task': " prefix, the installed hub as 0.1.0.
        operation = problem.startswith(("trigger '", "action '", "search '")) and "': " in problem
        quoted = problem.split("': ", 1)[1] if operation else problem
        quoted = quoted.replace(f"{hub_version()} is installed", "0.1.0 is installed")
        assert quoted in GUIDE, f"{mistake}: the guide does not quote {quoted!r}"
