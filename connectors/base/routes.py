# flask-smorest has no type information: its decorators (response, alt_response, and
# hub.api.base.Blueprint's built on them) are Any to mypy, and the views they wrap with them.
# mypy: allow-untyped-decorators
"""Declarations -> flask-smorest routes under /connectors/<key>/.

Every route goes through ``hub.api.base.Blueprint.auth(scope)``, so a
connector gets the core API's authentication, scopes, tier limits, error shape
and (on actions) Idempotency-Key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields

from connectors.base.declarations import Action, Connector, Search, Trigger
from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.models import User
from hub.plugins import ConnectorSummarySchema
from hub.schemas import Page, PageArgs
from hub.services import events


def build_blueprint(connector: Connector) -> Blueprint:
    manifest = connector.manifest
    blp = Blueprint(
        f"connector_{manifest.key}",
        __name__,
        description=f"{manifest.name} connector {manifest.version}. {manifest.description} "
        f"Docs: {manifest.docs_url}".replace(" . ", " "),
    )
    _about_route(blp, connector)
    for trigger in connector.triggers:
        _trigger_route(blp, trigger)
    for action in connector.actions:
        _action_route(blp, action)
    for search in connector.searches:
        _search_route(blp, search)
    if connector.extra_routes:
        connector.extra_routes(blp)
    return blp


def trigger_items(trigger: Trigger, user: User, page: int = 0, limit: int = 50, **filters: str | None) -> Page[Any]:
    """A page of a trigger's recent items, newest first: formatted outbox
    events, or the trigger's own list (``validate`` gives each trigger one of
    them). A list given as a plain ``list`` cannot tell whether more follow:
    its route names no next page. ``filters``: the values of the trigger's
    ``input_schema`` (None: not set), applied with its ``match``, as its
    hook's are."""
    if trigger.event and trigger.formatter:
        format_item = trigger.formatter
        match = {**{name: value for name, value in filters.items() if value is not None}, **dict(trigger.match)}
        found = events.recent(user, trigger.event, page=page, limit=limit, match=match)
        return Page([format_item(events.envelope(e)) for e in found.items], found.more)
    if trigger.list:
        listed = trigger.list(user, page=page, limit=limit)
        return listed if isinstance(listed, Page) else Page(listed, more=False)
    return Page([], more=False)


View = Callable[..., Any]


def _named(view: View, kind: str, operation: Trigger | Action | Search) -> View:
    view.__name__ = f"{kind}_{operation.key}"
    view.__doc__ = f"{operation.label}\n\n{operation.description}"
    return view


def _trigger_query(trigger: Trigger) -> ma.Schema:
    """The trigger route's query: a page, and the trigger's filters if any."""
    if trigger.input_schema is None:
        return PageArgs()
    query: type[ma.Schema] = type(f"{trigger.input_schema.__name__}Page", (PageArgs, trigger.input_schema), {})
    return query()


def _trigger_route(blp: Blueprint, trigger: Trigger) -> None:
    @blp.auth(trigger.scope)
    @blp.paged(_trigger_query(trigger), trigger.output_schema(many=True))
    @blp.alt_response(422, schema=ErrorSchema)
    def view(args: dict[str, Any]) -> Page[Any]:
        return trigger_items(trigger, current_user(), **args)

    blp.route(f"/triggers/{trigger.key}", methods=["GET"], endpoint=f"trigger_{trigger.key}")(
        _named(view, "trigger", trigger)
    )


def _action_route(blp: Blueprint, action: Action) -> None:
    @blp.auth(action.scope)
    @blp.idempotent  # actions create things (tasks, messages): safe to retry with a key
    @blp.arguments(action.input_schema())
    @blp.response(201 if action.creates else 200, action.output_schema)
    @blp.alt_response(422, schema=ErrorSchema)
    def view(args: dict[str, Any]) -> Any:
        if action.takes_scopes:
            args["scopes"] = g.principal.scopes
        return action.perform(current_user(), **args)

    blp.route(f"/actions/{action.key}", methods=["POST"], endpoint=f"action_{action.key}")(
        _named(view, "action", action)
    )


def _search_route(blp: Blueprint, search: Search) -> None:
    @blp.auth(search.scope)
    @blp.arguments(search.input_schema(), location="query")
    @blp.response(200, search.output_schema(many=True))
    @blp.alt_response(422, schema=ErrorSchema)
    def view(args: dict[str, Any]) -> Any:
        return search.perform(current_user(), **args)

    blp.route(f"/searches/{search.key}", methods=["GET"], endpoint=f"search_{search.key}")(
        _named(view, "search", search)
    )


def _about_route(blp: Blueprint, connector: Connector) -> None:
    @blp.route("/", methods=["GET"], endpoint="about")
    @blp.response(200, ConnectorSchema)
    def about() -> dict[str, Any]:
        """The connector: what it is, its operations and where its docs are (public, like /connectors/)."""
        return {
            **summary(connector),
            "description": connector.manifest.description,
            "operations": [
                _operation(connector, kind, op)
                for kind, ops in (
                    ("trigger", connector.triggers),
                    ("action", connector.actions),
                    ("search", connector.searches),
                )
                for op in ops
            ],
        }


PLURAL = {"trigger": "triggers", "action": "actions", "search": "searches"}


def _operation(connector: Connector, kind: str, op: Trigger | Action | Search) -> dict[str, Any]:
    method = "POST" if kind == "action" else "GET"
    return {
        "kind": kind,
        "key": op.key,
        "label": op.label,
        "description": op.description,
        "scope": op.scope,
        "method": method,
        "url": f"/connectors/{connector.key}/{PLURAL[kind]}/{op.key}",
        "event": getattr(op, "event", None),
        "hidden": getattr(op, "hidden", False),
    }


def summary(connector: Connector) -> dict[str, Any]:
    """Its entry in the hub's GET /connectors/ (``ConnectorSummarySchema``)."""
    return {
        "id": connector.key,
        "key": connector.key,
        "name": connector.manifest.name,
        "version": connector.manifest.version,
        "scopes": list(connector.manifest.scopes),
        "docs_url": connector.manifest.docs_url,
        "url": f"/connectors/{connector.key}/",
        "triggers": [t.key for t in connector.triggers],
        "actions": [a.key for a in connector.actions],
        "searches": [s.key for s in connector.searches],
    }


class OperationSchema(ma.Schema):
    kind = fields.String(metadata={"description": "trigger, action or search"})
    key = fields.String()
    label = fields.String()
    description = fields.String()
    scope = fields.String(metadata={"description": "The scope a token needs to call it"})
    method = fields.String()
    url = fields.String()
    event = fields.String(allow_none=True, metadata={"description": "A trigger's hub event (REST hook), if any"})
    hidden = fields.Boolean(metadata={"description": "A trigger that only fills a dropdown"})


class ConnectorSchema(ConnectorSummarySchema):
    description = fields.String()
    operations = fields.List(fields.Nested(OperationSchema))
