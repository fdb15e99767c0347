"""Declarations -> flask-smorest routes under /connectors/<key>/.

Every route goes through ``hub.api.base.Blueprint.auth(scope)``, so a
connector gets the core API's authentication, scopes, tier limits, error shape
and (on actions) Idempotency-Key.
"""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from connectors.base.declarations import Action, Connector, Search, Trigger
from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.services import events


class PageArgs(ma.Schema):
    page = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000),
                          metadata={"description": "0-based page number"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


def build_blueprint(connector: Connector) -> Blueprint:
    manifest = connector.manifest
    blp = Blueprint(f"connector_{manifest.key}", __name__,
                    description=f"{manifest.name} connector {manifest.version}. {manifest.description} "
                                f"Docs: {manifest.docs_url}".replace(" . ", " "))
    for trigger in connector.triggers:
        _trigger_route(blp, trigger)
    for action in connector.actions:
        _action_route(blp, action)
    for search in connector.searches:
        _search_route(blp, search)
    if connector.extra_routes:
        connector.extra_routes(blp)
    return blp


def trigger_items(trigger: Trigger, user, page: int = 0, limit: int = 50) -> list:
    """A trigger's recent items, newest first: formatted outbox events, or
    the trigger's own list."""
    if trigger.event:
        return [trigger.formatter(events.envelope(e))
                for e in events.recent(user, trigger.event, page=page, limit=limit)]
    return trigger.list(user, page=page, limit=limit)


def _named(view, kind: str, operation):
    view.__name__ = f"{kind}_{operation.key}"
    view.__doc__ = f"{operation.label}\n\n{operation.description}"
    return view


def _trigger_route(blp: Blueprint, trigger: Trigger) -> None:
    @blp.auth(trigger.scope)
    @blp.arguments(PageArgs(), location="query")
    @blp.response(200, trigger.output_schema(many=True))
    @blp.alt_response(422, schema=ErrorSchema)
    def view(args):
        return trigger_items(trigger, current_user(), **args)

    blp.route(f"/triggers/{trigger.key}", methods=["GET"], endpoint=f"trigger_{trigger.key}")(
        _named(view, "trigger", trigger))


def _action_route(blp: Blueprint, action: Action) -> None:
    @blp.auth(action.scope)
    @blp.idempotent  # actions create things (tasks, messages): safe to retry with a key
    @blp.arguments(action.input_schema())
    @blp.response(200, action.output_schema)
    @blp.alt_response(422, schema=ErrorSchema)
    def view(args):
        return action.perform(current_user(), **args)

    blp.route(f"/actions/{action.key}", methods=["POST"], endpoint=f"action_{action.key}")(
        _named(view, "action", action))


def _search_route(blp: Blueprint, search: Search) -> None:
    @blp.auth(search.scope)
    @blp.arguments(search.input_schema(), location="query")
    @blp.response(200, search.output_schema(many=True))
    @blp.alt_response(422, schema=ErrorSchema)
    def view(args):
        return search.perform(current_user(), **args)

    blp.route(f"/searches/{search.key}", methods=["GET"], endpoint=f"search_{search.key}")(
        _named(view, "search", search))


class ConnectorSummarySchema(ma.Schema):
    id = fields.String(metadata={"description": "The connector's key"})
    key = fields.String()
    name = fields.String()
    version = fields.String()
    scopes = fields.List(fields.String())
    docs_url = fields.String()
    url = fields.String(metadata={"description": "Where its routes are mounted"})
    triggers = fields.List(fields.String())
    actions = fields.List(fields.String())
    searches = fields.List(fields.String())


def index_blueprint() -> Blueprint:
    blp = Blueprint("connectors", __name__, url_prefix="/connectors", description="Installed connectors")

    @blp.route("/", methods=["GET"], endpoint="index")
    @blp.response(200, ConnectorSummarySchema(many=True))
    def connector_index():
        """The enabled connectors and what they offer (public, like /openapi.json)."""
        from connectors.base.registry import connectors

        return [{"id": c.key, "key": c.key, "name": c.manifest.name, "version": c.manifest.version,
                 "scopes": list(c.manifest.scopes), "docs_url": c.manifest.docs_url,
                 "url": f"/connectors/{c.key}/", "triggers": [t.key for t in c.triggers],
                 "actions": [a.key for a in c.actions], "searches": [s.key for s in c.searches]}
                for c in connectors().values()]

    return blp
