"""What a connector declares: its manifest, triggers, actions and searches.

Declarations are data. The base turns them into routes under
``/connectors/<key>/`` and a connector turns them into its platform's own app
format. Schemas are marshmallow classes; functions call hub services only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import marshmallow as ma

from hub.webhooks.formatters import NAME_MAX as FORMAT_NAME_MAX

if TYPE_CHECKING:
    from connectors.base.endpoint import Endpoint
    from hub.schemas import Page

# The key rule, for a connector's key and its operations' keys alike. The
# hub derives names from them (the URL /connectors/<key>/, the blueprint
# ``connector_<key>``, the endpoints ``<kind>_<operation>``, the OpenAPI
# schema names ``<Key>...``, the payload format ``<key>.<trigger>``), so the
# lengths are chosen for all of them to fit: a connector key is at most
# KEY_MAX characters and an event trigger's key at most TRIGGER_KEY_MAX, so
# that "<key>.<trigger>" is at most a format name's 40 characters.
KEY_CHARACTERS = re.compile(r"[a-z][a-z0-9_]*")
KEY_MAX = 20
OPERATION_KEY_MAX = 40
TRIGGER_KEY_MAX = FORMAT_NAME_MAX - 1 - KEY_MAX  # an event trigger's: its format name fits
KEY_RULE = "lowercase letters, digits and _, starting with a letter"


def check_key(key: object, max_length: int = KEY_MAX) -> str | None:
    """Why ``key`` breaks the key rule (KEY_RULE, at most ``max_length``
    characters), or None when it follows it."""
    if not isinstance(key, str) or not KEY_CHARACTERS.fullmatch(key):
        return f"{key!r} must be {KEY_RULE}"
    if len(key) > max_length:
        return f"{key!r} is {len(key)} characters, more than {max_length}"
    return None


@dataclass(frozen=True)
class Manifest:
    # KEY_RULE, at most KEY_MAX characters; equals the entry-point name and the URL segment
    key: str
    name: str  # shown to people
    version: str  # the connector's own version, MAJOR.MINOR.PATCH
    scopes: tuple[str, ...]  # every scope the connector's operations need
    docs_url: str  # where its users read how to use it
    description: str = ""
    # The hub versions it runs on, a PEP 440 specifier (e.g. ">=1.4,<2"),
    # checked against the installed codetether-hub at load; "" runs on any.
    requires_hub: str = ""


@dataclass(frozen=True)
class Trigger:
    """Something that happened, newest first.

    Bound to an ``event`` (a hub event type) the trigger can be subscribed to
    (REST hook) and its recent items come from the event outbox, each shaped
    by ``formatter(event) -> dict`` where ``event`` is the Standard Webhooks
    envelope ``{"id", "type", "timestamp", "data"}``. Without an event it is a
    polling list made by ``list(user, page=, limit=)`` (e.g. the choices of a
    dropdown, with ``hidden=True``): a ``hub.schemas.Page`` (which tells
    whether another page follows, for the ``Link`` header) or a plain list.
    """

    key: str
    noun: str
    label: str
    description: str
    output_schema: type[ma.Schema]
    sample: dict[str, Any]
    scope: str
    event: str | None = None
    formatter: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    list: Callable[..., Page[Any] | list[Any]] | None = None
    hidden: bool = False
    label_field: str | None = None  # the output field a dropdown shows
    # An event trigger's filters at the source, each named after a hook filter
    # of POST /api/v1/hooks and matched to the event data's field of that name
    # (``hub.models.webhooks.HOOK_FILTERS``): the ones a user may set (e.g. a
    # codebase), and fixed ones of the trigger's own (e.g. ``(("role",
    # "assistant"),)``: only the agent's messages). Its hook subscribes with
    # them and its list applies them, so both give the same items.
    input_schema: type[ma.Schema] | None = None
    match: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Action:
    """Do one thing: validated input in, one object out."""

    key: str
    noun: str
    label: str
    description: str
    input_schema: type[ma.Schema]
    output_schema: type[ma.Schema]
    perform: Callable[..., Any]  # perform(user, **input) -> object dumped by output_schema
    sample: dict[str, Any]
    scope: str
    # perform also gets ``scopes=`` (the caller's) when what it makes depends on
    # what the caller may read: a callback carries the task or the reply, so
    # the services refuse one the credential could not read (403).
    takes_scopes: bool = False
    # Its route answers 201 Created, as the core API's creates do; False for
    # an action that changes or reads what exists (e.g. cancel a task): 200.
    creates: bool = True
    # What it does to what exists, for platforms that tell their users or
    # models (MCP's tool annotations): only reads (e.g. get a task by id);
    # ends or removes something (cancel a task); the same call again changes
    # nothing more (cancel, get). A search only reads, always.
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False


@dataclass(frozen=True)
class Search:
    """Find objects: validated filters in, a list (newest first) out."""

    key: str
    noun: str
    label: str
    description: str
    input_schema: type[ma.Schema]
    output_schema: type[ma.Schema]
    perform: Callable[..., list[Any]]  # perform(user, **filters) -> list dumped by output_schema
    sample: dict[str, Any]
    scope: str


@dataclass(frozen=True)
class SearchOrCreate:
    """Find an object, or make it when none is found: a search of the
    connector and an action that makes what the search finds, named by key.
    The platform runs them (the search; the action only when the search finds
    nothing), so it has no route: e.g. one task per caller reference
    (``external_id``) when a workflow runs again. Known by its search's key
    (Zapier keys it so): one a search."""

    label: str
    description: str
    search: str  # a Search's key
    action: str  # an Action's key


Operation = Trigger | Action | Search


@dataclass(frozen=True)
class Connector:
    manifest: Manifest
    triggers: tuple[Trigger, ...] = ()
    actions: tuple[Action, ...] = ()
    searches: tuple[Search, ...] = ()
    search_or_creates: tuple[SearchOrCreate, ...] = ()
    # Extra routes of the connector's own (e.g. the generated app), given the
    # connector's flask-smorest Blueprint.
    extra_routes: Callable[[Any], None] | None = None
    # Called once per app with the Flask app, e.g. to register payload formatters.
    setup: Callable[[Any], None] | None = None
    # A protocol server of the connector's own (an ASGI app, e.g. MCP's) at
    # exactly /connectors/<key>, behind the hub's sign-in: connectors.base.endpoint.
    endpoint: Endpoint | None = None
    # Public JSON documents at the hub's root, ``/.well-known/<name>`` (RFC 8615), that a protocol's clients
    # look for there (e.g. A2A's ``agent-card.json``): ``(name, document)``, ``document()`` made per request
    # in the app context. Two connectors serving one name: the first mounted keeps it.
    well_known: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = ()

    @property
    def key(self) -> str:
        return self.manifest.key

    def all_operations(self) -> tuple[Operation, ...]:
        return (*self.triggers, *self.actions, *self.searches)

    def trigger(self, key: str) -> Trigger:
        return next(t for t in self.triggers if t.key == key)

    def action(self, key: str) -> Action:
        return next(a for a in self.actions if a.key == key)

    def search(self, key: str) -> Search:
        return next(s for s in self.searches if s.key == key)
