"""A connector's documents at the hub's root, ``/.well-known/<name>``
(RFC 8615): where a protocol's clients look for them on any host (A2A's agent
card at ``/.well-known/agent-card.json``), outside the connector's own
``/connectors/<key>/`` routes. Public, as such documents are (no secrets in
them), readable from a browser page on another origin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify

log = logging.getLogger(__name__)

PREFIX = "/.well-known/"


def mount(app: Flask, key: str, name: str, document: Callable[[], dict[str, Any]]) -> None:
    """Serve ``document()`` at ``/.well-known/<name>``, unless a route is there already."""
    rule = PREFIX + name
    if any(existing.rule == rule for existing in app.url_map.iter_rules()):
        log.warning("connector %r: %s is served already; not mounted again", key, rule)
        return

    def view() -> Response:
        answer = jsonify(document())
        answer.headers["Access-Control-Allow-Origin"] = "*"
        return answer

    app.add_url_rule(rule, endpoint=f"connector_{key}_well_known_{name}", view_func=view, methods=["GET"])
