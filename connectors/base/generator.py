"""Walking a connector's declarations into plain descriptions a generator
turns into its platform's own app format (Zapier's app definition, an n8n
node, ...): each trigger, action and search with its route, its input and
output fields (label, help text, type, required, default, choices, dropdown
source, nested fields) and sample. A generator maps these; it never reads
marshmallow fields itself.

    description = generator.describe(connector)
    for trigger in description.triggers:
        fields = [my_field(f) for f in generator.flatten_objects(trigger.outputs, "__")]

Types are ``connectors.base.fields.FIELD_TYPES``: a platform maps each to its
own (e.g. ``datetime`` to a date picker; ``items`` to line items).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

import marshmallow as ma
from marshmallow import validate

from connectors.base.declarations import Action, Connector, Manifest, Search, SearchOrCreate, Trigger
from connectors.base.fields import FIELD_TYPES, field_type, line_items, list_of, nested
from connectors.base.labels import label_for
from connectors.base.registry import formatter_name

__all__ = [
    "FIELD_TYPES",
    "Choice",
    "DescribedField",
    "DescribedOperation",
    "Description",
    "describe",
    "describe_fields",
    "flatten_objects",
    "label_for",
]

T = TypeVar("T", Trigger, Search)
Kind = Literal["trigger", "action", "search"]
PLURAL: Mapping[str, str] = {"trigger": "triggers", "action": "actions", "search": "searches"}


@dataclass(frozen=True)
class Choice:
    value: Any  # as the input takes it
    label: str  # ``choice_labels`` metadata, else from the value


@dataclass(frozen=True)
class DescribedField:
    """One field, from its marshmallow field and ``metadata``: ``label``,
    ``description`` (help text), ``long`` (a multi-line box),
    ``choice_labels``, ``choices_from`` (the hidden trigger that fills its
    dropdown), ``search_from`` (the search that can find its value)."""

    key: str
    label: str
    type: str  # one of FIELD_TYPES
    help_text: str = ""
    required: bool = False
    nullable: bool = False
    default: str | None = None  # prefilled, as text; None: no default (or a falsy one, like leaving it empty)
    choices: tuple[Choice, ...] = ()  # a static dropdown (a OneOf validator)
    choices_from: Trigger | None = None
    search_from: Search | None = None
    long: bool = False
    # Fields of an object with declared fields (type object), or of each line item (type items).
    children: tuple[DescribedField, ...] = ()
    item_type: str | None = None  # type list: the type of each value


@dataclass(frozen=True)
class DescribedOperation:
    kind: Kind
    declaration: Trigger | Action | Search  # for what only one platform needs
    key: str
    noun: str
    label: str
    description: str
    scope: str
    hidden: bool
    method: str  # of its route on the hub
    path: str  # its route: /connectors/<key>/<triggers|actions|searches>/<key>
    inputs: tuple[DescribedField, ...]  # an action's input, a search's or trigger's filters
    outputs: tuple[DescribedField, ...]
    sample: dict[str, Any]
    event: str | None = None  # a trigger's hub event: subscribe a REST hook to it ...
    format: str | None = None  # ... with this payload format, to get the items the trigger lists
    match: Mapping[str, str] | None = None  # ... and these fixed hook filters


@dataclass(frozen=True)
class Description:
    manifest: Manifest
    triggers: tuple[DescribedOperation, ...]
    actions: tuple[DescribedOperation, ...]
    searches: tuple[DescribedOperation, ...]
    search_or_creates: tuple[SearchOrCreate, ...]


def describe(connector: Connector) -> Description:
    """Every declaration of ``connector``, in declaration order."""
    return Description(
        manifest=connector.manifest,
        triggers=tuple(_operation(connector, "trigger", t) for t in connector.triggers),
        actions=tuple(_operation(connector, "action", a) for a in connector.actions),
        searches=tuple(_operation(connector, "search", s) for s in connector.searches),
        search_or_creates=connector.search_or_creates,
    )


def _operation(connector: Connector, kind: Kind, op: Trigger | Action | Search) -> DescribedOperation:
    inputs = op.input_schema
    event = op.event if isinstance(op, Trigger) else None
    return DescribedOperation(
        kind=kind,
        declaration=op,
        key=op.key,
        noun=op.noun,
        label=op.label,
        description=op.description,
        scope=op.scope,
        hidden=bool(getattr(op, "hidden", False)),
        method="POST" if kind == "action" else "GET",
        path=f"/connectors/{connector.key}/{PLURAL[kind]}/{op.key}",
        inputs=describe_fields(inputs, connector) if inputs is not None else (),
        outputs=describe_fields(op.output_schema, connector),
        sample=op.sample,
        event=event,
        format=formatter_name(connector, op) if isinstance(op, Trigger) and event else None,
        match=dict(op.match) if isinstance(op, Trigger) and event else None,
    )


def describe_fields(
    schema: type[ma.Schema] | ma.Schema, connector: Connector | None = None
) -> tuple[DescribedField, ...]:
    """The fields of ``schema`` in declaration order, nested ones with their
    children. ``connector`` resolves ``choices_from``/``search_from``."""
    found = (schema() if isinstance(schema, type) else schema).fields
    return tuple(_field(key, field, connector) for key, field in found.items())


def _field(key: str, field: ma.fields.Field[Any], connector: Connector | None) -> DescribedField:
    meta = field.metadata
    kind = field_type(field)
    one_of = next((v for v in field.validators if isinstance(v, validate.OneOf)), None)
    labels: Mapping[str, str] = meta.get("choice_labels") or {}
    default = field.load_default
    inner = nested(field) or line_items(field)
    each = list_of(field)
    return DescribedField(
        key=key,
        label=meta.get("label") or label_for(key),
        type=kind,
        help_text=meta.get("description") or "",
        required=bool(field.required),
        nullable=bool(field.allow_none),
        # A falsy default (None, 0, "") is what an empty field means anyway.
        default=str(default) if default and not callable(default) else None,
        choices=tuple(Choice(c, labels.get(c, label_for(str(c)))) for c in one_of.choices) if one_of else (),
        choices_from=_find(connector.triggers, meta.get("choices_from")) if connector else None,
        search_from=_find(connector.searches, meta.get("search_from")) if connector else None,
        long=bool(meta.get("long")),
        children=describe_fields(inner, connector) if inner is not None else (),
        item_type=field_type(each) if each is not None else None,
    )


def _find(declared: tuple[T, ...], key: str | None) -> T | None:
    return next((d for d in declared if d.key == key), None) if key else None


def flatten_objects(fields: tuple[DescribedField, ...], separator: str) -> tuple[DescribedField, ...]:
    """Objects with declared fields spread into one field per leaf, keyed
    ``parent<separator>child`` and labelled "Parent Child" (Zapier's
    ``address__city``): for platforms that show nested values as flat
    fields. Line items stay one field, their own fields flattened alike; a
    free-form object (no declared fields) stays as it is."""
    flat: list[DescribedField] = []
    for field in fields:
        if field.type == "object" and field.children:
            flat += [
                replace(child, key=f"{field.key}{separator}{child.key}", label=f"{field.label} {child.label}")
                for child in flatten_objects(field.children, separator)
            ]
        elif field.type == "items":
            flat.append(replace(field, children=flatten_objects(field.children, separator)))
        else:
            flat.append(field)
    return tuple(flat)
