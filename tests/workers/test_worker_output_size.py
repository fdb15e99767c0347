"""A worker reports outputs up to the worker API's own limit (a million
characters), however JSON escapes them, while the rest of the hub keeps
HUB_MAX_REQUEST_BYTES."""

import json

from hub.api.worker import MAX_OUTPUT


def test_a_full_non_ascii_result_is_accepted(alice, make_worker, client):
    created = alice.create_task()
    worker = make_worker()
    task = worker.claim(worker.register())
    result = "é" * MAX_OUTPUT  # 6 MB once JSON escapes it, far above the 1 MiB default
    body = json.dumps({"result": result})
    assert len(body) > 6 * MAX_OUTPUT
    done = client.post(
        f"/api/v1/worker/tasks/{task['id']}/complete",
        data=body,
        content_type="application/json",
        headers=worker.headers,
    )
    assert done.status_code == 200, done.json
    assert alice.get(f"/api/v1/tasks/{created['id']}").json["result"] == result


def test_only_the_worker_api_takes_larger_bodies(alice, app):
    too_big = "x" * (app.config["HUB_MAX_REQUEST_BYTES"] + 1)
    response = alice.post("/api/v1/tasks", json={"title": "t", "prompt": too_big})
    assert response.status_code == 413 and response.json["code"] == "payload_too_large", response.json


def test_a_worker_body_past_its_own_limit_is_refused(alice, make_worker, client):
    alice.create_task()
    worker = make_worker()
    task = worker.claim(worker.register())
    body = json.dumps({"result": "é" * (MAX_OUTPUT + 20_000)})
    refused = client.post(
        f"/api/v1/worker/tasks/{task['id']}/complete",
        data=body,
        content_type="application/json",
        headers=worker.headers,
    )
    assert refused.status_code == 413, refused.json
