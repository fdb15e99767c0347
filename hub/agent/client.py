"""The worker API over HTTP (httpx), with patience for a hub that is
starting or restarting."""

from __future__ import annotations

import logging
import time

import httpx

from hub.logs import Fault

log = logging.getLogger("hub.agent")
# Every call retries while the hub is down or restarting: logged when it
# starts, every 30 s, and when the hub answers again.
HUB_UNREACHABLE = Fault(log, "hub unreachable; retrying")


class TokenRefused(Exception):
    """The hub refused the worker token (revoked or wrong): stop."""


class HubClient:
    def __init__(self, hub_url: str, token: str, *, timeout: float = 30.0):
        self.http = httpx.Client(
            base_url=hub_url.rstrip("/") + "/api/v1/worker",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def call(self, path: str, body: dict, *, timeout: float | None = None, retry: bool = True) -> tuple[int, dict]:
        """POST and return (status, JSON). Connection failures and 5xx are
        retried with backoff when ``retry``; 401/403 raise TokenRefused."""
        delay = 0.2
        while True:
            try:
                response = self.http.post(path, json=body, timeout=timeout or self.http.timeout)
                if response.status_code < 500:
                    HUB_UNREACHABLE.cleared()
                    break
                problem = f"HTTP {response.status_code}"
            except httpx.TransportError as error:
                problem = type(error).__name__
            if not retry:
                raise ConnectionError(f"hub unreachable: {problem}")
            HUB_UNREACHABLE.happened(f"{problem}; next try in {delay:.1f} s")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        if response.status_code in (401, 403):
            raise TokenRefused(response.json().get("message", "token refused"))
        return response.status_code, response.json()

    def register(self, name: str, codebases: list[str], agent_types: list[str]) -> dict:
        status, body = self.call("/register", {"name": name, "codebases": codebases, "agent_types": agent_types})
        if status != 200:
            raise ValueError(f"registration refused: {body.get('message')}")
        return body

    def claim(self, worker_id: str, wait: float) -> dict | None:
        status, body = self.call(f"/{worker_id}/claim", {"wait": wait}, timeout=wait + 30)
        return body.get("task") if status == 200 else None

    def heartbeat(self, task_id: str, output: str | None = None) -> dict:
        """The hub's answer; ``{"cancel": True}`` also when the task is gone."""
        try:
            status, body = self.call(f"/tasks/{task_id}/heartbeat", {"output": output}, retry=False)
        except ConnectionError as error:
            HUB_UNREACHABLE.happened(f"heartbeat for {task_id} not delivered ({error}); the agent keeps running")
            return {"cancel": False, "delivered": False}
        if status != 200:
            return {"cancel": True, "status": body.get("code")}
        return body

    def ask(self, task_id: str, question: str) -> dict:
        """Stop and ask the user: the task waits for their reply."""
        status, answer = self.call(f"/tasks/{task_id}/ask", {"question": question})
        if status != 200:
            log.warning("the hub did not take the question of %s: %s", task_id, answer.get("message"))
        return answer

    def finish(self, task_id: str, ok: bool, text: str) -> dict:
        path, body = (
            (f"/tasks/{task_id}/complete", {"result": text})
            if ok
            else (f"/tasks/{task_id}/fail", {"error": text or "failed"})
        )
        status, answer = self.call(path, body)
        if status != 200:
            log.warning("the hub did not take the outcome of %s: %s", task_id, answer.get("message"))
        return answer
