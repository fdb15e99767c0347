"""The ``openai`` backend: one chat completion from an OpenAI-compatible
endpoint (OpenAI, Ollama, vLLM, LM Studio, ...). A conversation's task sends
its messages; any other task sends its prompt as the user's message.

With ``ask`` the request offers the model one tool, ``ask_user``: a model
that calls it asks the user its ``question`` and the task waits for the
reply (off by default: some servers refuse requests with tools)."""

from __future__ import annotations

import json
import threading

import httpx

from hub.agent.runner import Outcome


class OpenAIBackend:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float = 3600.0,
        ask: bool = False,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model, self.timeout, self.ask = model, timeout, ask

    def run(self, task: dict, output, cancelled: threading.Event) -> Outcome:
        model = task.get("model") or self.model
        if not model:
            return Outcome(False, "No model: the task names none and the worker has no default (HUB_OPENAI_MODEL).")
        messages = task.get("messages") or [{"role": "user", "content": task["prompt"]}]
        try:
            response = httpx.post(
                self.url,
                json={"model": model, "messages": messages, **({"tools": [ASK_TOOL]} if self.ask else {})},
                headers=self.headers,
                timeout=httpx.Timeout(self.timeout, connect=10.0),
            )
        except httpx.HTTPError as error:
            return Outcome(False, f"Chat completion request failed: {type(error).__name__}: {error}")
        if response.status_code != 200:
            return Outcome(False, f"Chat completion answered HTTP {response.status_code}: {response.text[:2000]}")
        try:
            message = response.json()["choices"][0]["message"]
            content = message.get("content") or ""
            question = _question(message) if self.ask else None
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return Outcome(False, f"Chat completion answer was not understood: {response.text[:2000]}")
        if question:
            return Outcome(False, question, asks=True)
        output(content)
        return Outcome(True, content)


ASK_TOOL = {
    "type": "function",
    "function": {
        "name": "ask_user",
        "description": "Ask the user a question when you cannot go on without their answer; "
        "you get the answer in a later turn of this conversation.",
        "parameters": {
            "type": "object",
            "properties": {"question": {"type": "string", "description": "The question, in plain words"}},
            "required": ["question"],
        },
    },
}


def _question(message: dict) -> str | None:
    """The question of the model's ``ask_user`` call, if it made one."""
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        if function.get("name") == "ask_user":
            arguments = json.loads(function.get("arguments") or "{}")
            return str(arguments.get("question") or "").strip() or None
    return None
