# flask-smorest has no type information: its decorators are Any to mypy.
# mypy: allow-untyped-decorators
"""A connector's guide, served by the hub: ``/connectors/<key>/docs`` gives
its README (Markdown), so the manifest's ``docs_url`` works on every hub.

    connector = Connector(
        manifest=Manifest(..., docs_url=docs.docs_url("my_connector")),
        extra_routes=docs.readme_route(Path(__file__).with_name("README.md")),
    )
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Response

PATH = "/docs"


def docs_url(key: str) -> str:
    """The manifest's ``docs_url`` of a connector serving its README."""
    return f"/connectors/{key}{PATH}"


def add_readme_route(blp: Any, readme: Path, summary: str = "How to use this connector (Markdown).") -> None:
    """Add GET ``/docs`` to the connector's Blueprint: ``readme``, read on
    each request (an edited guide shows without a restart). Public, like the
    connector's description: it holds no secret."""

    def docs() -> Response:
        return Response(readme.read_text(encoding="utf-8"), mimetype="text/markdown")

    docs.__doc__ = summary  # the route's summary in /openapi.json
    blp.route(PATH, methods=["GET"], endpoint="docs")(
        blp.response(200, {"type": "string"}, content_type="text/markdown")(docs)
    )


def readme_route(readme: Path, summary: str = "How to use this connector (Markdown).") -> Callable[[Any], None]:
    """An ``extra_routes`` that serves ``readme`` as the docs, for a connector
    with no other routes of its own."""
    return lambda blp: add_readme_route(blp, readme, summary)
