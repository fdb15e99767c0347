"""The app's routes as the scope tests read them: every route under /api/
and /connectors/, with what its view requires (``Blueprint.auth`` writes
``required_scope`` and ``first_party`` on the view), taken from the app
itself so that no table in the tests can drift from it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

UNSET = object()  # a route without Blueprint.auth: no credential asked


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    required: Any  # a scope, a tuple (any one of them), None (any user credential), or UNSET
    first_party: bool

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.rule

    def url(self, params: dict) -> str:
        """The rule with its ``<placeholders>`` filled from ``params``."""
        return self.rule.replace("<", "{").replace(">", "}").format(**params)


def routes(app) -> Iterator[Route]:
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/connectors/")):
            continue
        view = app.view_functions[rule.endpoint]
        cls = getattr(view, "view_class", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            handler = getattr(cls, method.lower()) if cls else view
            yield Route(
                method,
                rule.rule,
                getattr(handler, "required_scope", UNSET),
                getattr(handler, "first_party", False),
            )
