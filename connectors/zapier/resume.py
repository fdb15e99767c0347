"""Actions that wait for their result: Run Task and Wait for Result, Send
Message and Wait for Reply.

Zapier pauses the step: the app's ``perform`` sends the hub Zapier's resume
URL (``z.generateCallbackUrl()``) as the create's ``callback_url`` and shows
the pending object; the hub POSTs the final event there once (its per-task
callback, docs/webhooks.md) and Zapier runs ``performResume`` with that body
as ``bundle.cleanedRequest``. An action waits when its input requires
``callback_url``: the app fills it, people never see it.

The callback comes in the standard envelope, not the "zapier" trigger format:
its ``type`` tells how the task ended and its ``data`` is the whole task (or
reply), the same object ``perform`` showed, finished.
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

import marshmallow as ma

from connectors.base import Action, hub
from connectors.zapier.schemas import BlankIsMissing, CreateTaskInput, SendMessageInput

CALLBACK_URL = "callback_url"
# The hub's default payload format: the Standard Webhooks envelope {id, type, timestamp, data}.
ENVELOPE = "standard"


def _waiting(name: str, shown: type[ma.Schema], what: str) -> type[ma.Schema]:
    """``shown``'s fields, with the resume URL required and the format left
    to the action (``performResume`` reads one shape)."""
    found = {key: deepcopy(field) for key, field in shown().fields.items() if key != "callback_format"}
    found[CALLBACK_URL] = hub.RequiredText(
        max_length=2048,
        metadata={
            "label": "Callback URL",
            "description": f"Where the hub sends {what}: Zapier's resume URL, which the app sets itself.",
        },
    )
    return BlankIsMissing.from_dict(found, name=name)


CreateTaskAndWaitInput = _waiting("CreateTaskAndWaitInput", CreateTaskInput, "the finished task")
SendMessageAndWaitInput = _waiting("SendMessageAndWaitInput", SendMessageInput, "the agent's reply")


def create_task_and_wait(user: hub.User, **fields: Any) -> hub.Task:
    return hub.create_task(user, callback_format=ENVELOPE, **fields)


def send_message_and_wait(user: hub.User, **fields: Any) -> hub.Message:
    return hub.send_message(user, callback_format=ENVELOPE, **fields)


def waits(action: Action) -> bool:
    field = action.input_schema().fields.get(CALLBACK_URL)
    return bool(field and field.required)


# A function's z.request takes no {{curlies}}: the environment's base URL is read in JavaScript.
def _js_url(url: str, env_base: str) -> str:
    if url.startswith(env_base):
        return f"process.env.BASE_URL + {json.dumps(url[len(env_base) :])}"
    return json.dumps(url)


PERFORM = """\
const body = {{}};
for (const key of {keys}) {{
  const value = bundle.inputData[key];
  if (value !== undefined && value !== null && value !== '') body[key] = value;
}}
body.callback_url = z.generateCallbackUrl();  // pauses the step until the hub calls it
const response = await z.request({{ url: {url}, method: 'POST', body }});
return response.data;
"""

# A failed or cancelled task fails the step with its own words, so Zapier's
# error handling (error emails, autoreplay, an error path) takes it from there.
RESUME = """\
const event = bundle.cleanedRequest || {};
const task = event.data || {};
if (event.type === 'task.failed') {
  throw new z.errors.Error(task.error || `The task "${task.title}" failed.`, 'task_failed', 400);
}
if (event.type === 'task.cancelled') {
  throw new z.errors.Error(`The task "${task.title}" was cancelled before it finished.`, 'task_cancelled', 400);
}
return task;
"""


def operation(action: Action, url: str, env_base: str) -> dict[str, Any]:
    """The ``perform`` and ``performResume`` of a waiting action posting to ``url``."""
    keys = [key for key in action.input_schema().fields if key != CALLBACK_URL]
    return {
        "perform": {"source": PERFORM.format(keys=json.dumps(keys), url=_js_url(url, env_base))},
        "performResume": {"source": RESUME},
    }
