"""The checks a connector passes before the hub mounts it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, TypeGuard

import marshmallow as ma
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from connectors.base.declarations import (
    OPERATION_KEY_MAX,
    TRIGGER_KEY_MAX,
    Action,
    Connector,
    Manifest,
    Operation,
    Search,
    Trigger,
    check_key,
)
from connectors.base.fields import check_item, line_items, nested
from hub.auth import SCOPES
from hub.models.events import EVENT_SCOPES, EVENT_TYPES
from hub.models.webhooks import HOOK_FILTERS
from hub.plugins import HUB_DISTRIBUTION, hub_version

VERSION = re.compile(r"^\d+\.\d+\.\d+$")
URL = re.compile(r"^(https?://|/)\S+$")  # absolute, or a path on the hub


class InvalidConnector(Exception):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def validate(connector: object, entry_point_name: str | None = None) -> None:
    """Raise InvalidConnector listing what is wrong with ``connector``."""
    if not isinstance(connector, Connector):
        raise InvalidConnector([f"the entry point gives {type(connector).__name__}, not a connectors.base.Connector"])
    problems = _manifest(connector.manifest)
    if entry_point_name is not None and connector.manifest.key != entry_point_name:
        problems.append(
            f"manifest key '{connector.manifest.key}' does not match the entry-point name '{entry_point_name}'"
        )
    seen: set[tuple[str, str]] = set()
    operations: tuple[Operation, ...]
    for kind, operations in (
        ("trigger", connector.triggers),
        ("action", connector.actions),
        ("search", connector.searches),
    ):
        for operation in operations:
            if (kind, operation.key) in seen:
                problems.append(f"{kind} '{operation.key}' is declared twice")
            seen.add((kind, operation.key))
            problems += [f"{kind} '{operation.key}': {p}" for p in _operation(operation, connector)]
    problems += _search_or_creates(connector)
    problems += _field_references(connector)
    if problems:
        raise InvalidConnector(problems)


def _manifest(manifest: object) -> list[str]:
    if not isinstance(manifest, Manifest):
        return ["manifest is not a connectors.base.Manifest"]

    problems: list[str] = []
    bad_key = check_key(manifest.key)
    if bad_key:
        problems.append(f"manifest key {bad_key}")
    if not isinstance(manifest.name, str) or not manifest.name.strip():
        problems.append("manifest name is empty")
    if not isinstance(manifest.version, str) or not VERSION.match(manifest.version):
        problems.append(f"manifest version {manifest.version!r} is not MAJOR.MINOR.PATCH")
    if not manifest.scopes:
        problems.append("manifest scopes are empty")
    unknown = [s for s in manifest.scopes if s not in SCOPES]
    if unknown:
        problems.append(f"manifest scopes {unknown} are not hub scopes ({', '.join(SCOPES)})")
    if not isinstance(manifest.docs_url, str) or not URL.match(manifest.docs_url):
        problems.append(f"manifest docs_url {manifest.docs_url!r} is not an http(s) URL or a path on the hub")
    return problems + _requires_hub(manifest.requires_hub)


def _requires_hub(wanted: object) -> list[str]:
    """The hub versions the connector runs on (a PEP 440 specifier, read
    with ``packaging`` as pip reads them) include the installed hub's."""
    if not wanted:
        return []
    try:
        specifier = SpecifierSet(str(wanted))
    except InvalidSpecifier:
        return [f"manifest requires_hub {wanted!r} is not a version specifier (PEP 440, e.g. '>=1.2,<2')"]
    installed = hub_version()
    if not specifier.contains(installed, prereleases=True):
        return [f"it requires {HUB_DISTRIBUTION} {specifier}, and {HUB_DISTRIBUTION} {installed} is installed"]
    return []


def _is_schema(value: object) -> TypeGuard[type[ma.Schema]]:
    return isinstance(value, type) and issubclass(value, ma.Schema)


def _operation(operation: Operation, connector: Connector) -> list[str]:

    problems: list[str] = []
    # An event trigger's key is shorter: "<connector key>.<trigger key>" names its payload format.
    bad_key = check_key(operation.key, TRIGGER_KEY_MAX if getattr(operation, "event", None) else OPERATION_KEY_MAX)
    if bad_key:
        problems.append(f"key {bad_key}")
    if not operation.label or not operation.description or not operation.noun:
        problems.append("label, noun and description are required")
    if operation.scope not in connector.manifest.scopes:
        problems.append(f"scope '{operation.scope}' is not in the manifest's scopes")
    if not _is_schema(operation.output_schema):
        return [*problems, "output_schema is not a marshmallow Schema class"]
    if "id" not in operation.output_schema().fields:
        problems.append("output_schema has no `id` field")
    problems += [f"sample: {p}" for p in check_item(operation.output_schema, operation.sample)]
    if isinstance(operation, Trigger):
        if operation.event is not None:
            if operation.event not in EVENT_TYPES:
                problems.append(f"event '{operation.event}' is not a hub event ({', '.join(EVENT_TYPES)})")
            elif operation.scope != EVENT_SCOPES[operation.event]:
                # Its hook, its list of recent events and its route all need the event's own scope.
                problems.append(
                    f"scope '{operation.scope}' is not the scope event '{operation.event}' needs "
                    f"('{EVENT_SCOPES[operation.event]}')"
                )
            if not callable(operation.formatter):
                problems.append("a trigger bound to an event needs a formatter")
        elif not callable(operation.list):
            problems.append("a trigger needs an event or a list function")
        if operation.label_field and operation.label_field not in operation.output_schema().fields:
            problems.append(f"label_field '{operation.label_field}' is not an output field")
        problems += _filters(operation)
    elif isinstance(operation, (Action, Search)):
        if not _is_schema(operation.input_schema):
            problems.append("input_schema is not a marshmallow Schema class")
        if not callable(operation.perform):
            problems.append("perform is not callable")
    return problems


def _search_or_creates(connector: Connector) -> list[str]:
    """Each pairs a declared search and action, one per search."""
    problems: list[str] = []
    searches = {s.key for s in connector.searches}
    actions = {a.key for a in connector.actions}
    seen: set[str] = set()
    for pair in connector.search_or_creates:
        name = f"search-or-create '{pair.search}'"
        if pair.search in seen:
            problems.append(f"{name} is declared twice")
        seen.add(pair.search)
        if not pair.label or not pair.description:
            problems.append(f"{name}: label and description are required")
        if pair.search not in searches:
            problems.append(f"{name}: search '{pair.search}' is not declared")
        if pair.action not in actions:
            problems.append(f"{name}: action '{pair.action}' is not declared")
    return problems


def _field_references(connector: Connector) -> list[str]:
    """A field's ``choices_from`` names a declared trigger (the one that
    fills its dropdown, usually hidden) and its ``search_from`` a declared
    search: a platform's app built from them would otherwise point at
    nothing."""
    problems: list[str] = []
    triggers = {t.key for t in connector.triggers}
    searches = {s.key for s in connector.searches}
    for kind, operation in _kinds(connector):
        schema = getattr(operation, "input_schema", None)
        if not _is_schema(schema):
            continue
        for path, field in _fields(schema()):
            choices_from = field.metadata.get("choices_from")
            if choices_from is not None and choices_from not in triggers:
                problems.append(
                    f"{kind} '{operation.key}': field '{path}': choices_from '{choices_from}' is not a declared "
                    f"trigger ({', '.join(sorted(triggers)) or 'none'})"
                )
            search_from = field.metadata.get("search_from")
            if search_from is not None and search_from not in searches:
                problems.append(
                    f"{kind} '{operation.key}': field '{path}': search_from '{search_from}' is not a declared "
                    f"search ({', '.join(sorted(searches)) or 'none'})"
                )
    return problems


def _kinds(connector: Connector) -> Iterator[tuple[str, Operation]]:
    for trigger in connector.triggers:
        yield "trigger", trigger
    for action in connector.actions:
        yield "action", action
    for search in connector.searches:
        yield "search", search


def _fields(schema: ma.Schema, prefix: str = "") -> Iterator[tuple[str, ma.fields.Field[Any]]]:
    """Every field of ``schema``, nested objects' and line items' too, by its dotted path."""
    for name, field in schema.fields.items():
        yield f"{prefix}{name}", field
        inner = nested(field) or line_items(field)
        if inner is not None:
            yield from _fields(inner, f"{prefix}{name}.")


def _filters(trigger: Trigger) -> list[str]:
    """A trigger's filters are hook filters, so its hook can apply them."""

    if trigger.input_schema is not None and not _is_schema(trigger.input_schema):
        return ["input_schema is not a marshmallow Schema class"]
    names = [*(trigger.input_schema().fields if trigger.input_schema else ()), *(name for name, _ in trigger.match)]
    if names and trigger.event is None:
        return ["filters (input_schema, match) need an event: they filter its hook and its events"]
    unknown = [name for name in names if name not in HOOK_FILTERS]
    return [f"filters {unknown} are not hook filters ({', '.join(HOOK_FILTERS)})"] if unknown else []
