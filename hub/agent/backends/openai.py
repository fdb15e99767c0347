"""The ``openai`` backend: one chat completion from an OpenAI-compatible
endpoint (OpenAI, Ollama, vLLM, LM Studio, ...). A conversation's task sends
its messages; any other task sends its prompt as the user's message."""

from __future__ import annotations

import threading

import httpx

from hub.agent.runner import Outcome


class OpenAIBackend:
    def __init__(self, base_url: str, *, api_key: str | None = None, model: str | None = None, timeout: float = 3600.0):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model, self.timeout = model, timeout

    def run(self, task: dict, output, cancelled: threading.Event) -> Outcome:
        model = task.get("model") or self.model
        if not model:
            return Outcome(False, "No model: the task names none and the worker has no default (HUB_OPENAI_MODEL).")
        messages = task.get("messages") or [{"role": "user", "content": task["prompt"]}]
        try:
            response = httpx.post(
                self.url,
                json={"model": model, "messages": messages},
                headers=self.headers,
                timeout=httpx.Timeout(self.timeout, connect=10.0),
            )
        except httpx.HTTPError as error:
            return Outcome(False, f"Chat completion request failed: {type(error).__name__}: {error}")
        if response.status_code != 200:
            return Outcome(False, f"Chat completion answered HTTP {response.status_code}: {response.text[:2000]}")
        try:
            content = response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            return Outcome(False, f"Chat completion answer was not understood: {response.text[:2000]}")
        output(content)
        return Outcome(True, content)
