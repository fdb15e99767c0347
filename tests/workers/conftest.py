"""Agent workers on the worker API, through the test client."""

import pytest


class WorkerApi:
    def __init__(self, client, token):
        self.client, self.token = client, token
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path, body=None):
        return self.client.post("/api/v1/worker" + path, json=body or {}, headers=self.headers)

    def register(self, name="w1", **fields):
        response = self.post("/register", {"name": name, **fields})
        assert response.status_code == 200, response.json
        return response.json["worker_id"]

    def claim(self, worker_id, wait=0):
        response = self.post(f"/{worker_id}/claim", {"wait": wait})
        assert response.status_code == 200, response.json
        return response.json["task"]


@pytest.fixture
def make_worker(app, client):
    """``make(name, space_pk=None)``: a worker under a new token of that space
    (None: hub-wide); ``make(token=plain)``: under a token made elsewhere."""
    from hub.services import workers

    def make(name="tok", space_pk=None, token=None):
        if token is None:
            with app.app_context():
                _token, token = workers.create_token(name, space_pk=space_pk)
        return WorkerApi(client, token)

    return make


@pytest.fixture
def worker(make_worker):
    return make_worker()
