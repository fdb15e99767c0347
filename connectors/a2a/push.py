"""A2A push-notification configs: each is one of the task's callbacks.

A config (``TaskPushNotificationConfig``) becomes a callback of its task
(``hub.add_callback`` with ``status_updates``), so it is signed, retried,
SSRF-guarded and logged as every callback is (docs/webhooks.md, "Per-task
callbacks"). The hub POSTs the A2A task (``StreamResponse`` JSON:
``{"task": {...}}``, the body a2a-sdk's own push sender sends) each time the
agent asks a question (``input-required``) and once when the task ends
(``completed``, ``failed``, ``canceled``). The config's ``token`` comes back
as ``X-A2A-Notification-Token``, its ``authentication`` as ``Authorization:
<scheme> <credentials>``; both are stored sealed and never shown again, and
the URL shows only its scheme and host after the create. The handler
(handler.py) calls these four functions by name, with the caller's user and
their credential's scopes (a create needs the read scope of what it carries,
as a REST callback does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from a2a.compat.v0_3.conversions import to_compat_message, to_compat_task
from a2a.types import (
    AuthenticationInfo,
    DeleteTaskPushNotificationConfigRequest,
    GetTaskPushNotificationConfigRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    StreamResponse,
    TaskPushNotificationConfig,
)
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]  # protobuf ships no stubs

from connectors.a2a import mapping
from connectors.base import hub
from connectors.base.registry import register_format

FORMAT = "a2a"  # the callbacks' payload format: the A2A task
FORMAT_V03 = "a2a-v0.3"  # a config set with v0.3's names: v0.3's bare Task (or Message), as its receivers read
TOKEN_HEADER = "X-A2A-Notification-Token"
# The hub's field names as A2A's, for an invalid params error.
FIELDS = {"callback_url": "url", "callback_headers": "authentication", "callback_format": "url", "external_id": "id"}


def body(envelope: dict[str, Any]) -> dict[str, Any]:
    """A callback's event as A2A's push body: the task (with the agent's
    question as its status message), or a message for a message's event."""
    return MessageToDict(_event(envelope))


def body_v03(envelope: dict[str, Any]) -> dict[str, Any]:
    """The same event as A2A v0.3's push body: the bare Task (``kind``:
    ``task``, state ``completed``), or the Message."""
    event = _event(envelope)
    found = to_compat_task(event.task) if event.HasField("task") else to_compat_message(event.message)
    v03: dict[str, Any] = found.model_dump(mode="json", by_alias=True, exclude_none=True)
    return v03


def _event(envelope: dict[str, Any]) -> StreamResponse:
    data = envelope["data"]
    if envelope["type"] == "message.created":
        return StreamResponse(message=mapping.history_message(data))
    question = None
    if data.get("question"):
        question = {
            "id": data.get("question_message_id") or f"{data['id']}-question",
            "conversation_id": data.get("conversation_id") or "",
            "task_id": data["id"],
            "role": "assistant",
            "content": data["question"],
        }
    task = mapping.a2a_task(data, [question] if question else [], history_length=0)
    return StreamResponse(task=task)


def setup(app: Any) -> None:
    """The A2A body as a payload format, in every process (the connector's
    setup: web and delivery workers alike)."""
    register_format(FORMAT, body)
    register_format(FORMAT_V03, body_v03)


def _headers(config: TaskPushNotificationConfig) -> dict[str, str]:
    headers = {}
    if config.token:
        headers[TOKEN_HEADER] = config.token
    if config.HasField("authentication"):
        auth = config.authentication
        if not auth.scheme or not auth.credentials:
            raise hub.ValidationFailed("authentication", "Give both the scheme and the credentials.")
        headers["Authorization"] = f"{auth.scheme} {auth.credentials}"
    return headers


def _config(callback: hub.Callback, url: str | None = None) -> TaskPushNotificationConfig:
    """A callback as A2A's config: its URL as shown (a secret: scheme and
    host alone), never its token or credentials."""
    return TaskPushNotificationConfig(
        id=callback["external_id"] or callback["id"], task_id=callback["task_id"], url=url or callback["url"]
    )


def _ours(user: hub.User, task_id: str) -> list[hub.Callback]:
    return [callback for callback in hub.list_callbacks(user, task_id) if callback["format"] in (FORMAT, FORMAT_V03)]


def _find(user: hub.User, task_id: str, config_id: str, *, first: bool = False) -> hub.Callback:
    """The task's config ``config_id`` (its client's id, or the hub's). No
    id: the task's first where ``first`` (v0.3's get by task), else invalid
    params naming ``id`` (never a config the caller did not name)."""
    if not config_id and not first:
        raise hub.ValidationFailed("id", "Name the push notification config.")
    ours = _ours(user, task_id)
    found = next((one for one in ours if not config_id or config_id in (one["external_id"], one["id"])), None)
    if found is None:
        raise hub.NotFound(f"Task '{task_id}' has no push notification config '{config_id}'.")
    return found


def create_config(
    user: hub.User, params: TaskPushNotificationConfig, *, scopes: Iterable[str] | None = None, v03: bool = False
) -> TaskPushNotificationConfig:
    """The task's new push config; one of the same ``id`` is replaced (A2A's
    set or update). Without an ``id`` the hub names it (the callback's).
    ``v03``: set with v0.3's names, so pushed in v0.3's shape (``body_v03``).
    ``scopes``: the caller's credential's, which must read tasks (Forbidden).
    NotFound: not the user's task; a ValidationFailed names the A2A field
    (``url``, ``authentication``, ``id``)."""
    if not params.task_id:
        raise hub.ValidationFailed("taskId", "Name the task.")
    try:
        created = hub.add_callback(
            user,
            params.task_id,
            params.url,
            format=FORMAT_V03 if v03 else FORMAT,
            headers=_headers(params),
            status_updates=True,
            external_id=params.id or None,
            scopes=scopes,
        )
    except hub.ValidationFailed as bad:
        raise _in_a2a_words(bad) from None
    config = TaskPushNotificationConfig(id=params.id or created["callback_id"], task_id=params.task_id, url=params.url)
    if params.HasField("authentication"):  # what it was given back, bar the credentials
        config.authentication.CopyFrom(AuthenticationInfo(scheme=params.authentication.scheme))
    return config


def check_config(params: TaskPushNotificationConfig, *, scopes: Iterable[str] | None = None, v03: bool = False) -> None:
    """What ``create_config`` would refuse of ``params`` but a missing task,
    before there is one (a config sent with a SendMessage): the same errors."""
    try:
        hub.check_callback(
            params.url,
            format=FORMAT_V03 if v03 else FORMAT,
            scopes=scopes,
            headers=_headers(params),
            external_id=params.id or None,
        )
    except hub.ValidationFailed as bad:
        raise _in_a2a_words(bad) from None


def _in_a2a_words(bad: hub.ValidationFailed) -> hub.ValidationFailed:
    field, messages = next(iter((bad.errors or {"url": ["Invalid."]}).items()))
    return hub.ValidationFailed(FIELDS.get(field, field), " ".join(messages))


def get_config(
    user: hub.User,
    params: GetTaskPushNotificationConfigRequest,
    *,
    scopes: Iterable[str] | None = None,
    v03: bool = False,
) -> TaskPushNotificationConfig:
    """One push config of the user's task: ``id`` is required, but for v0.3
    (``v03``) where none asks the task's first. NotFound: not the user's
    task, or no such config."""
    return _config(_find(user, params.task_id, params.id, first=v03))


def list_configs(
    user: hub.User, params: ListTaskPushNotificationConfigsRequest, *, scopes: Iterable[str] | None = None
) -> ListTaskPushNotificationConfigsResponse:
    """The push configs of the user's task, oldest first (a task has few:
    one page). NotFound: not the user's task."""
    return ListTaskPushNotificationConfigsResponse(configs=[_config(one) for one in _ours(user, params.task_id)])


def delete_config(
    user: hub.User, params: DeleteTaskPushNotificationConfigRequest, *, scopes: Iterable[str] | None = None
) -> None:
    """Stop one push config (``id`` required): nothing more is sent to it.
    NotFound: not the user's task, or no such config."""
    hub.delete_callback(user, params.task_id, _find(user, params.task_id, params.id)["id"])
