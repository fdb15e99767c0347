"""The A2A connector: the hub as an Agent2Agent (A2A) agent. Other agents
send it work as A2A messages over JSON-RPC at ``/connectors/a2a`` (server.py,
on the official a2a-sdk) and find it by its agent card (card.py). It has no
REST operations of its own: an A2A task is a hub task, the same one the REST
API, Zapier and MCP show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import jsonify

from connectors.a2a import card, push, server
from connectors.base import Connector, Manifest, docs
from connectors.base.endpoint import Endpoint


def _routes(blp: Any) -> None:
    """The README, and the agent card under the connector's own mount too."""
    docs.add_readme_route(blp, Path(__file__).with_name("README.md"))

    def agent_card() -> Any:
        answer = jsonify(card.document(connector))
        answer.headers["Access-Control-Allow-Origin"] = "*"
        return answer

    agent_card.__doc__ = "The agent card (A2A discovery): the endpoint, its protocol versions, skills, sign-in."
    blp.route(card.PATH, methods=["GET"], endpoint="agent_card")(blp.response(200, {"type": "object"})(agent_card))


def _card() -> dict[str, Any]:
    return card.document(connector)


connector = Connector(
    manifest=Manifest(
        key="a2a",
        name="A2A",
        version="1.0.0",
        scopes=("tasks:read", "tasks:write", "messages:write"),
        docs_url=docs.docs_url("a2a"),
        description="CodeTether as an Agent2Agent (A2A) agent: other agents send it work as messages (JSON-RPC at "
        "/connectors/a2a, A2A 1.0 and 0.3), stream it and get pushed its end.",
    ),
    extra_routes=_routes,
    setup=push.setup,  # the push configs' payload format
    endpoint=Endpoint(
        build=server.build,
        methods=("POST",),
        scope_for=server.scope_for,
        refusal=server.refusal,
        description="The A2A endpoint (JSON-RPC 2.0, A2A 1.0 method names and v0.3's): SendMessage, "
        "SendStreamingMessage, GetTask, ListTasks, CancelTask, SubscribeToTask and the push-notification configs. "
        "Each method needs the scope its REST route needs.",
    ),
    well_known=((card.NAME, _card),),
)
