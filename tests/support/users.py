"""A user (or a worker) acting on the hub through Flask's test client."""

from __future__ import annotations


class ApiUser:
    """A credential's holder, acting through the test client."""

    def __init__(self, client, username, key, key_id):
        self.client, self.username, self.key, self.key_id = client, username, key, key_id

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, url, **kw):
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def create_task(self, **fields):
        body = {"title": "Fix the build", "prompt": "Make CI green", **fields}
        response = self.post("/api/v1/tasks", json=body)
        assert response.status_code == 201, response.json
        return response.json
