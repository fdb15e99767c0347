"""The Zapier app definition, generated as JSON from the declarations.

Requests are Zapier's shorthand objects; the only functions are a hook
trigger's ``perform`` (it must read ``bundle.cleanedRequest``), a waiting
action's ``perform`` and ``performResume`` (``resume``) and the connection
label (a template cannot leave out a personal space's name). The bearer
header comes from ``requestTemplate``; the OAuth client's credentials from
``{{process.env.CLIENT_ID}}`` / ``{{process.env.CLIENT_SECRET}}``.
"""

from __future__ import annotations

from typing import Any

from connectors.base.declarations import Action, Connector, SearchOrCreate
from connectors.base.generator import DescribedField, DescribedOperation, describe, flatten_objects
from connectors.zapier import resume

ENV_BASE_URL = "{{process.env.BASE_URL}}"
# The plain field types (connectors.base.fields.FIELD_TYPES) Zapier has an output type of its own for.
TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "datetime": "datetime"}
FORM = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json",
    "Authorization": "",
}  # an empty header is dropped: the token requests carry no bearer
# The connection's name in Zapier, from the auth test's answer (GET /api/v1/me, given as bundle.inputData): the
# username, and the organisation the connection acts in ("ada (Acme)"), so two connections of one person differ.
CONNECTION_LABEL = (
    "const me = bundle.inputData;\n"
    "return me.space && me.space.kind === 'org' ? `${me.username} (${me.space.name})` : me.username;"
)


def definition(connector: Connector, base_url: str | None = None) -> dict:
    """The whole app (without ``version``/``platformVersion``, which
    index.js adds). ``base_url`` None points it at ``process.env.BASE_URL``."""
    base = (base_url or ENV_BASE_URL).rstrip("/")
    described = describe(connector)
    return {
        "requestTemplate": {
            "headers": {"Authorization": "Bearer {{bundle.authData.access_token}}", "Accept": "application/json"}
        },
        "authentication": authentication(connector, base),
        "triggers": {t.key: trigger(t, base) for t in described.triggers},
        "creates": {a.key: create(a, base) for a in described.actions},
        "searches": {s.key: search(s, base) for s in described.searches},
        "searchOrCreates": {pair.search: search_or_create(pair) for pair in described.search_or_creates},
    }


def authentication(connector: Connector, base: str) -> dict:
    scope = " ".join(connector.manifest.scopes)
    client = {"client_id": "{{process.env.CLIENT_ID}}", "client_secret": "{{process.env.CLIENT_SECRET}}"}
    return {
        "type": "oauth2",
        "test": {"url": f"{base}/api/v1/me", "method": "GET"},
        "connectionLabel": {"source": CONNECTION_LABEL},
        "oauth2Config": {
            "authorizeUrl": {
                "url": f"{base}/oauth/authorize",
                "method": "GET",
                "params": {
                    "client_id": "{{process.env.CLIENT_ID}}",
                    "redirect_uri": "{{bundle.inputData.redirect_uri}}",
                    "response_type": "code",
                    "scope": scope,
                    "state": "{{bundle.inputData.state}}",
                },
            },
            # Zapier makes the PKCE pair: it adds code_challenge (S256) to the
            # authorize URL and hands the verifier to this request only.
            "getAccessToken": {
                "url": f"{base}/oauth/token",
                "method": "POST",
                "headers": FORM,
                "body": {
                    "grant_type": "authorization_code",
                    "code": "{{bundle.inputData.code}}",
                    "redirect_uri": "{{bundle.inputData.redirect_uri}}",
                    "code_verifier": "{{bundle.inputData.code_verifier}}",
                    **client,
                },
            },
            "refreshAccessToken": {
                "url": f"{base}/oauth/token",
                "method": "POST",
                "headers": FORM,
                "body": {"grant_type": "refresh_token", "refresh_token": "{{bundle.authData.refresh_token}}", **client},
            },
            "scope": scope,
            "autoRefresh": True,
            "enablePkce": True,  # the hub requires S256 PKCE of every client (RFC 9700 §2.1.1)
        },
    }


def _display(operation: DescribedOperation) -> dict:
    display: dict[str, Any] = {"label": operation.label, "description": operation.description}
    if operation.hidden:
        display["hidden"] = True
    return display


def output_fields(fields: tuple[DescribedField, ...]) -> list[dict]:
    """Zapier's output fields: an object's declared fields as ``parent__child``
    keys (Zapier flattens a nested value so), line items as ``children``."""
    return [_output_field(f) for f in flatten_objects(fields, "__")]


def _output_field(field: DescribedField) -> dict:
    item: dict[str, Any] = {"key": field.key, "label": field.label}
    if field.type == "items":
        item["children"] = [_output_field(child) for child in field.children]  # line items
    elif field.type == "list":
        item.update({"type": TYPES.get(field.item_type or "", "string"), "list": True})
    elif field.type in TYPES:
        item["type"] = TYPES[field.type]
    # else a free-form object: no such output type; Zapier shows its entries as `key__name` fields
    return item


def input_fields(fields: tuple[DescribedField, ...]) -> list[dict]:
    found = []
    for field in fields:
        item: dict[str, Any] = {"key": field.key, "label": field.label, "required": field.required}
        item["type"] = "text" if field.long else field.type if field.type in ("integer", "datetime") else "string"
        if field.type == "object":
            item["dict"] = True  # Zapier's name/value rows, sent as one object
        if field.help_text:
            item["helpText"] = field.help_text
        if field.default is not None:
            item["default"] = field.default
        if field.choices:
            item["choices"] = [{"value": c.value, "sample": c.value, "label": c.label} for c in field.choices]
        if field.choices_from:
            source = field.choices_from
            item["dynamic"] = f"{source.key}.id.{source.label_field or 'id'}"
            item["altersDynamicFields"] = False
        if field.search_from:
            # Zapier offers to add that search as a step before this one, to fill the field.
            item["search"] = f"{field.search_from.key}.id"
        found.append(item)
    return found


def trigger(t: DescribedOperation, base: str) -> dict:
    listing = {"url": f"{base}{t.path}", "method": "GET"}
    operation: dict[str, Any] = {"sample": t.sample, "outputFields": output_fields(t.outputs)}
    if t.inputs:
        operation["inputFields"] = input_fields(t.inputs)
    if t.event:
        hooks = f"{base}/api/v1/hooks"
        # The filters a user set (a field left empty is left out: no filter)
        # go to the hook, which then sends only matching events, and to the list.
        filters = {f.key: f"{{{{bundle.inputData.{f.key}}}}}" for f in t.inputs}
        subscribe = {"event": t.event, "target_url": "{{bundle.targetUrl}}", "format": t.format, **(t.match or {})}
        operation.update(
            {
                "type": "hook",
                # The hub's REST hooks; the trigger's own format ("zapier.<trigger>") delivers the flat item it lists.
                "performSubscribe": {
                    "url": hooks,
                    "method": "POST",
                    "body": {**subscribe, **filters},
                    "removeMissingValuesFrom": {"body": True},
                },
                "performUnsubscribe": {"url": f"{hooks}/{{{{bundle.subscribeData.id}}}}", "method": "DELETE"},
                # A delivery's body is already the flat object (the trigger's payload formatter).
                "perform": {"source": "return [bundle.cleanedRequest];"},
                # The list applies the trigger's fixed filters (match) itself.
                "performList": {
                    **listing,
                    "params": {"limit": 10, **filters},
                    "removeMissingValuesFrom": {"params": True},
                },
            }
        )
    else:
        operation.update(
            {"type": "polling", "canPaginate": True, "perform": {**listing, "params": {"page": "{{bundle.meta.page}}"}}}
        )
    return {"key": t.key, "noun": t.noun, "display": _display(t), "operation": operation}


def create(action: DescribedOperation, base: str) -> dict:
    body = {f.key: f"{{{{bundle.inputData.{f.key}}}}}" for f in action.inputs}
    url = f"{base}{action.path}"
    operation: dict[str, Any] = {
        "perform": {"url": url, "method": "POST", "body": body, "removeMissingValuesFrom": {"body": True}},
        "inputFields": input_fields(action.inputs),
        "sample": action.sample,
        "outputFields": output_fields(action.outputs),
    }
    declared = action.declaration
    if isinstance(declared, Action) and resume.waits(declared):
        # functions: Zapier's resume URL comes from z.generateCallbackUrl()
        operation.update(resume.operation(declared, url, ENV_BASE_URL))
        operation["inputFields"] = [f for f in operation["inputFields"] if f["key"] != resume.CALLBACK_URL]
    return {"key": action.key, "noun": action.noun, "display": _display(action), "operation": operation}


def search(s: DescribedOperation, base: str) -> dict:
    params = {f.key: f"{{{{bundle.inputData.{f.key}}}}}" for f in s.inputs}
    return {
        "key": s.key,
        "noun": s.noun,
        "display": _display(s),
        "operation": {
            "perform": {
                "url": f"{base}{s.path}",
                "method": "GET",
                "params": params,
                "removeMissingValuesFrom": {"params": True},
            },
            "inputFields": input_fields(s.inputs),
            "sample": s.sample,
            "outputFields": output_fields(s.outputs),
        },
    }


def search_or_create(pair: SearchOrCreate) -> dict:
    """Zapier runs the search, and the create only when it finds nothing
    (keyed by the search: Zapier's editor requires it)."""
    return {
        "key": pair.search,
        "display": {"label": pair.label, "description": pair.description},
        "search": pair.search,
        "create": pair.action,
    }
