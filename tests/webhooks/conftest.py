import pytest


@pytest.fixture(autouse=True)
def _quick_delivery(webhook_settings):
    """Every test here delivers with the quick settings (tests/support/delivery.py's FAST)."""


class Agent:
    """An agent worker on the worker API, as the reference worker calls it (through the test client)."""

    def __init__(self, client, token):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}
        self.id = self.post("/register", {"name": "callbacks"}).json["worker_id"]

    def post(self, path, body):
        response = self.client.post("/api/v1/worker" + path, json=body, headers=self.headers)
        assert response.status_code == 200, response.json
        return response

    def claim(self, task_id):
        task = self.post(f"/{self.id}/claim", {"wait": 0}).json["task"]
        assert task and task["id"] == task_id, task
        return task

    def ask(self, task_id, question):
        self.claim(task_id)
        return self.post(f"/tasks/{task_id}/ask", {"question": question}).json

    def complete(self, task_id, result):
        self.claim(task_id)
        return self.post(f"/tasks/{task_id}/complete", {"result": result}).json

    def fail(self, task_id, error):
        self.claim(task_id)
        return self.post(f"/tasks/{task_id}/fail", {"error": error}).json


@pytest.fixture
def agent(client, worker_token):
    """``agent.complete(task_id, result)`` (or ``ask``, ``fail``): claims the task, then reports."""
    return Agent(client, worker_token)
