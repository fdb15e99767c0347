"""Discovery, refusal of invalid connectors, and the admin's enable/disable settings."""

import dataclasses
import logging
from importlib.metadata import EntryPoint, entry_points

import marshmallow as ma
import pytest

from connectors.base import InvalidConnector, validate
from connectors.zapier import connector as zapier
from hub import plugins

# Discovery, validation and the enable settings read no database: nothing for the PostgreSQL pass.
pytestmark = pytest.mark.sqlite_only


def _installed_plus(*extra):
    real = list(entry_points(group=plugins.GROUP))
    return lambda group: real + [EntryPoint(name, value, plugins.GROUP) for name, value in extra]


def test_invalid_connectors_are_refused_with_a_clear_log_line_and_the_hub_still_starts(hub_env, monkeypatch, caplog):
    monkeypatch.setenv(plugins.LOGGED, "")  # as a hub just started: nothing said yet
    monkeypatch.setattr(
        plugins,
        "entry_points",
        _installed_plus(
            ("zapper", "connectors.zapier:connector"),  # key does not match the entry-point name
            ("missing", "connectors.zapier:no_such_thing"),  # does not load
            ("notone", "json:dumps"),  # not a Connector
        ),
    )
    from hub import create_app

    with caplog.at_level(logging.ERROR, logger="hub.connectors"):
        app = create_app({"TESTING": True})
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.connectors"]
    assert any("'zapper' refused" in line and "does not match the entry-point name 'zapper'" in line for line in lines)
    assert any("'missing' refused" in line and "could not be loaded" in line for line in lines)
    assert any("'notone' refused" in line and "not a connectors.base.Connector" in line for line in lines)
    client = app.test_client()
    assert {c["key"] for c in client.get("/connectors/").json} == {"zapier", "mcp", "a2a", "example"}
    assert client.get("/connectors/zapper/triggers/new_task").status_code == 404
    assert client.get("/api/v1/me").status_code == 401  # the hub itself is up


def _broken(**changes):
    manifest = dataclasses.replace(zapier.manifest, **changes.pop("manifest", {}))
    return dataclasses.replace(zapier, manifest=manifest, **changes)


def _trigger(**changes):
    return (dataclasses.replace(zapier.triggers[0], **changes), *zapier.triggers[1:])


def _action_input(**metadata):
    """Zapier's first action, its input with a field of this metadata."""
    fields = {
        "title": ma.fields.String(required=True),
        "nested": ma.fields.Nested(ma.Schema.from_dict({"pick": ma.fields.String(metadata=metadata)})),
    }
    schema = ma.Schema.from_dict(fields)
    return (dataclasses.replace(zapier.actions[0], input_schema=schema), *zapier.actions[1:])


@pytest.mark.parametrize(
    ("connector", "problem"),
    [
        (_broken(manifest={"key": "Zapier!"}), "manifest key 'Zapier!'"),
        (_broken(manifest={"key": "z" * 21}), f"manifest key '{'z' * 21}' is 21 characters, more than 20"),
        (_broken(manifest={"requires_hub": ">=1000"}), "it requires codetether-hub >=1000, and codetether-hub"),
        (_broken(manifest={"requires_hub": "1.0"}), "requires_hub '1.0' is not a version specifier"),
        (_broken(triggers=_trigger(key="t" * 20)), f"key '{'t' * 20}' is 20 characters, more than 19"),
        (_broken(triggers=_trigger(label_field="nope")), "label_field 'nope' is not an output field"),
        (
            _broken(actions=_action_input(choices_from="no_such_list")),
            "action 'create_task': field 'nested.pick': choices_from 'no_such_list' is not a declared trigger",
        ),
        (
            _broken(actions=_action_input(search_from="find_nothing")),
            "field 'nested.pick': search_from 'find_nothing' is not a declared search (find_task, find_tasks)",
        ),
        (_broken(manifest={"version": "one"}), "not MAJOR.MINOR.PATCH"),
        (_broken(manifest={"scopes": ("tasks:read", "root")}), "not hub scopes"),
        (_broken(manifest={"docs_url": "docs"}), "docs_url"),
        (_broken(manifest={"name": " "}), "name is empty"),
        (_broken(triggers=_trigger(event="task.exploded")), "event 'task.exploded' is not a hub event"),
        (_broken(triggers=_trigger(sample={"task_id": 1})), "sample: no string `id`"),
        (_broken(triggers=_trigger(sample={"id": "e", "nope": 1})), "`nope` is not declared"),
        (_broken(triggers=_trigger(scope="codebases:write")), "scope 'codebases:write' is not in the manifest"),
        # A trigger's scope is its event's (hub.models.events.EVENT_SCOPES): no message bodies for tasks:read.
        (
            _broken(triggers=_trigger(event="message.created")),
            "scope 'tasks:read' is not the scope event 'message.created' needs ('messages:read')",
        ),
        (
            _broken(triggers=_trigger(scope="tasks:write")),
            "scope 'tasks:write' is not the scope event 'task.created' needs",
        ),
        (_broken(triggers=_trigger(formatter=None)), "needs a formatter"),
        (_broken(triggers=(*zapier.triggers, zapier.triggers[0])), "trigger 'new_task' is declared twice"),
        (_broken(actions=(dataclasses.replace(zapier.actions[0], perform="create"),)), "perform is not callable"),
        (_broken(actions=(dataclasses.replace(zapier.actions[0], input_schema=dict),)), "input_schema is not"),
    ],
)
def test_invalid_declarations_are_named(connector, problem):
    with pytest.raises(InvalidConnector) as refused:
        validate(connector, connector.manifest.key)
    assert any(problem in p for p in refused.value.problems), refused.value.problems


@pytest.mark.parametrize(
    ("enabled", "disabled", "mounted"),
    [
        ("*", "", {"zapier", "mcp", "a2a", "example"}),
        ("zapier", "", {"zapier"}),
        ("*", "zapier", {"mcp", "a2a", "example"}),
        ("zapier,example", "example", {"zapier"}),
    ],
)
def test_admins_enable_and_disable_connectors_by_setting(hub_env, monkeypatch, caplog, enabled, disabled, mounted):
    monkeypatch.setenv("HUB_CONNECTORS_ENABLED", enabled)
    monkeypatch.setenv("HUB_CONNECTORS_DISABLED", disabled)
    monkeypatch.setenv(plugins.LOGGED, "")  # as a hub just started: nothing said yet
    from hub import create_app

    with caplog.at_level(logging.INFO, logger="hub.connectors"):
        client = create_app({"TESTING": True}).test_client()
    assert {c["key"] for c in client.get("/connectors/").json} == mounted
    said = {r.getMessage().split("'")[1]: r.getMessage() for r in caplog.records if r.name == "hub.connectors"}
    for key in ("zapier", "example"):
        assert ("mounted at" in said[key]) == (key in mounted) and ("disabled by" in said[key]) != (key in mounted)
    paths = client.get("/openapi.json").json["paths"]
    for key in ("zapier", "example"):
        assert any(p.startswith(f"/connectors/{key}/") for p in paths) == (key in mounted)
        status = client.get(f"/connectors/{key}/definition.json").status_code
        assert (status == 200) == (key == "zapier" and key in mounted)


def test_connector_routes_use_the_core_auth(app):
    """Every declared operation's view went through Blueprint.auth."""
    for rule in app.url_map.iter_rules():
        parts = rule.rule.split("/")
        if rule.rule.startswith("/connectors/") and len(parts) > 3 and parts[3] in ("triggers", "actions", "searches"):
            assert hasattr(app.view_functions[rule.endpoint], "required_scope"), rule.rule
