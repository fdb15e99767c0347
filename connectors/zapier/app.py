"""The Zapier app definition, generated as JSON from the declarations.

Requests are Zapier's shorthand objects; the only functions are a hook
trigger's ``perform`` (it must read ``bundle.cleanedRequest``) and a waiting
action's ``perform`` and ``performResume`` (``resume``). The bearer
header comes from ``requestTemplate``; the OAuth client's credentials from
``{{process.env.CLIENT_ID}}`` / ``{{process.env.CLIENT_SECRET}}``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import validate

from connectors.base.declarations import Connector, SearchOrCreate, Trigger
from connectors.base.fields import field_type, line_items
from connectors.zapier import resume

ENV_BASE_URL = "{{process.env.BASE_URL}}"
ACRONYMS = {"id": "ID", "url": "URL"}
FORM = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json",
    "Authorization": "",
}  # an empty header is dropped: the token requests carry no bearer


def label_for(key: str) -> str:
    return " ".join(ACRONYMS.get(word, word.capitalize()) for word in key.split("_"))


def definition(connector: Connector, base_url: str | None = None) -> dict:
    """The whole app (without ``version``/``platformVersion``, which
    index.js adds). ``base_url`` None points it at ``process.env.BASE_URL``."""
    base = (base_url or ENV_BASE_URL).rstrip("/")
    prefix = f"{base}/connectors/{connector.key}"
    return {
        "requestTemplate": {
            "headers": {"Authorization": "Bearer {{bundle.authData.access_token}}", "Accept": "application/json"}
        },
        "authentication": authentication(connector, base),
        "triggers": {t.key: trigger(t, connector, base) for t in connector.triggers},
        "creates": {a.key: create(a, connector, prefix) for a in connector.actions},
        "searches": {s.key: search(s, connector, prefix) for s in connector.searches},
        "searchOrCreates": {pair.search: search_or_create(pair) for pair in connector.search_or_creates},
    }


def authentication(connector: Connector, base: str) -> dict:
    scope = " ".join(connector.manifest.scopes)
    client = {"client_id": "{{process.env.CLIENT_ID}}", "client_secret": "{{process.env.CLIENT_SECRET}}"}
    return {
        "type": "oauth2",
        "test": {"url": f"{base}/api/v1/me", "method": "GET"},
        "connectionLabel": "{{bundle.inputData.username}}",
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


def _display(operation) -> dict:
    display = {"label": operation.label, "description": operation.description}
    if getattr(operation, "hidden", False):
        display["hidden"] = True
    return display


def output_fields(schema) -> list[dict]:
    found = []
    for key, field in schema().fields.items():
        item = {"key": key, "label": field.metadata.get("label") or label_for(key), "type": field_type(field)}
        if item["type"] == "object":
            del item["type"]  # no such output type: Zapier shows an object's entries as `key__name` fields
        elif item["type"] == "items":
            del item["type"]  # line items: a list of objects, described by their fields
            item["children"] = output_fields(type(line_items(field)))
        found.append(item)
    return found


def input_fields(schema, connector: Connector) -> list[dict]:
    found = []
    for key, field in schema().fields.items():
        meta = field.metadata
        item = {"key": key, "label": meta.get("label") or label_for(key), "required": bool(field.required)}
        kind = field_type(field)
        item["type"] = "text" if meta.get("long") else kind if kind in ("integer", "datetime") else "string"
        if kind == "object":
            item["dict"] = True  # Zapier's name/value rows, sent as one object
        if meta.get("description"):
            item["helpText"] = meta["description"]
        if field.load_default and not callable(field.load_default):
            # Prefilled; a falsy default (None, 0) is what an empty field means anyway.
            item["default"] = str(field.load_default)
        one_of = next((v for v in _validators(field) if isinstance(v, validate.OneOf)), None)
        if one_of is not None:
            labels = meta.get("choice_labels") or {}
            item["choices"] = [{"value": c, "sample": c, "label": labels.get(c, label_for(c))} for c in one_of.choices]
        if meta.get("choices_from"):
            source = connector.trigger(meta["choices_from"])
            item["dynamic"] = f"{source.key}.id.{source.label_field or 'id'}"
            item["altersDynamicFields"] = False
        if meta.get("search_from"):
            # Zapier offers to add that search as a step before this one, to fill the field.
            item["search"] = f"{connector.search(meta['search_from']).key}.id"
        found.append(item)
    return found


def _validators(field) -> list:
    return list(field.validators) if getattr(field, "validators", None) else []


def trigger(t: Trigger, connector: Connector, base: str) -> dict:
    prefix = f"{base}/connectors/{connector.key}"
    listing = {"url": f"{prefix}/triggers/{t.key}", "method": "GET"}
    operation: dict[str, Any] = {"sample": t.sample, "outputFields": output_fields(t.output_schema)}
    if t.input_schema:
        operation["inputFields"] = input_fields(t.input_schema, connector)
    if t.event:
        hooks = f"{base}/api/v1/hooks"
        # The filters a user set (a field left empty is left out: no filter)
        # go to the hook, which then sends only matching events, and to the list.
        filters = {
            key: f"{{{{bundle.inputData.{key}}}}}" for key in (t.input_schema().fields if t.input_schema else ())
        }
        subscribe = {"event": t.event, "target_url": "{{bundle.targetUrl}}", "format": "zapier", **dict(t.match)}
        operation.update(
            {
                "type": "hook",
                # The hub's REST hooks; the "zapier" format delivers the flat item this trigger lists.
                "performSubscribe": {
                    "url": hooks,
                    "method": "POST",
                    "body": {**subscribe, **filters},
                    "removeMissingValuesFrom": {"body": True},
                },
                "performUnsubscribe": {"url": f"{hooks}/{{{{bundle.subscribeData.id}}}}", "method": "DELETE"},
                # A delivery's body is already the flat object (the "zapier" payload formatter).
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


def create(action, connector: Connector, prefix: str) -> dict:
    body = {key: f"{{{{bundle.inputData.{key}}}}}" for key in action.input_schema().fields}
    url = f"{prefix}/actions/{action.key}"
    operation = {
        "perform": {"url": url, "method": "POST", "body": body, "removeMissingValuesFrom": {"body": True}},
        "inputFields": input_fields(action.input_schema, connector),
        "sample": action.sample,
        "outputFields": output_fields(action.output_schema),
    }
    if resume.waits(action):  # functions: Zapier's resume URL comes from z.generateCallbackUrl()
        operation.update(resume.operation(action, url, ENV_BASE_URL))
        operation["inputFields"] = [f for f in operation["inputFields"] if f["key"] != resume.CALLBACK_URL]
    return {"key": action.key, "noun": action.noun, "display": _display(action), "operation": operation}


def search(s, connector: Connector, prefix: str) -> dict:
    params = {key: f"{{{{bundle.inputData.{key}}}}}" for key in s.input_schema().fields}
    return {
        "key": s.key,
        "noun": s.noun,
        "display": _display(s),
        "operation": {
            "perform": {
                "url": f"{prefix}/searches/{s.key}",
                "method": "GET",
                "params": params,
                "removeMissingValuesFrom": {"params": True},
            },
            "inputFields": input_fields(s.input_schema, connector),
            "sample": s.sample,
            "outputFields": output_fields(s.output_schema),
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
