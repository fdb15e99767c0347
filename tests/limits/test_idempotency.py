"""Idempotency-Key on creates: retries replay the first response and create nothing more."""

from datetime import timedelta

from sqlalchemy import func, select
from support.parallel import parallel, post

TASK = {"title": "Fix the build", "prompt": "Make CI green"}


def count(app, model_name):
    from hub import models
    from hub.db import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(getattr(models, model_name)))


def key(value):
    return {"Idempotency-Key": value}


def test_sequential_retry_replays_the_first_response_and_creates_one_task(app, alice):
    first = alice.post("/api/v1/tasks", json=TASK, headers=key("k-1"))
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    # Same JSON in another key order and spacing is the same request.
    again = alice.post(
        "/api/v1/tasks",
        data='{"prompt": "Make CI green",  "title": "Fix the build"}',
        content_type="application/json",
        headers=key("k-1"),
    )
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert count(app, "Task") == 1
    other = alice.post("/api/v1/tasks", json=TASK, headers=key("k-2"))
    assert other.status_code == 201 and other.json["id"] != first.json["id"]
    assert count(app, "Task") == 2


def test_same_key_with_another_body_is_422_and_creates_nothing(app, alice):
    alice.post("/api/v1/tasks", json=TASK, headers=key("k"))
    response = alice.post("/api/v1/tasks", json={**TASK, "title": "Something else"}, headers=key("k"))
    assert response.status_code == 422
    assert response.json["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in response.json["errors"]
    assert alice.post("/api/v1/messages", json={"message": "hi"}, headers=key("k")).status_code == 422
    assert count(app, "Task") == 1 and count(app, "Message") == 0


def test_keys_are_per_user(app, alice, bob):
    a = alice.post("/api/v1/tasks", json=TASK, headers=key("shared"))
    b = bob.post("/api/v1/tasks", json=TASK, headers=key("shared"))
    assert a.status_code == b.status_code == 201 and "Idempotent-Replayed" not in b.headers
    assert count(app, "Task") == 2


def test_same_key_and_body_on_another_path_or_query_is_not_a_replay(app, alice):
    """The key names one request: method, path, query and body. Another
    route (the Zapier action takes the very same body) is another request."""
    first = alice.post("/api/v1/tasks", json=TASK, headers=key("k-path"))
    assert first.status_code == 201
    for path in ("/connectors/zapier/actions/create_task", "/api/v1/tasks?codebase_id=global"):
        other = alice.post(path, json=TASK, headers=key("k-path"))
        assert other.status_code == 422, (path, other.json)
        assert other.json["code"] == "idempotency_key_reused" and "Idempotent-Replayed" not in other.headers
    # Every value of a repeated parameter counts.
    assert alice.post("/api/v1/tasks?tag=a&tag=b", json=TASK, headers=key("k-query")).status_code == 201
    for query in ("?tag=a&tag=c", "?tag=a"):
        other = alice.post("/api/v1/tasks" + query, json=TASK, headers=key("k-query"))
        assert other.status_code == 422, (path, other.json)
        assert other.json["code"] == "idempotency_key_reused" and "Idempotent-Replayed" not in other.headers
    assert count(app, "Task") == 2


def reserve_as_a_first_request(app, key_value, path="/api/v1/tasks", body=TASK):
    """What the first request does before its view runs: reserve the key for
    its fingerprint. Until it finishes, the key is in flight."""
    from hub.db import db
    from hub.idempotency import request_fingerprint
    from hub.models import User
    from hub.services import idempotency

    with app.test_request_context(path, method="POST", json=body):
        user = db.session.scalar(select(User).where(User.username == "alice"))
        assert idempotency.reserve(user, key_value, request_fingerprint()) is None
        db.session.remove()


def test_concurrent_retries_while_the_first_is_in_flight_are_each_409(app, live_url, alice):
    reserve_as_a_first_request(app, "race")
    responses = parallel(10, lambda i: post(live_url, alice.key, "/api/v1/tasks", TASK, key("race")))
    assert [r.status_code for r in responses] == [409] * 10
    assert {r.json()["code"] for r in responses} == {"idempotency_in_flight"}
    assert count(app, "Task") == 0


def test_concurrent_retries_after_the_first_finished_each_replay_it(app, live_url, alice):
    first = alice.post("/api/v1/tasks", json=TASK, headers=key("done"))
    assert first.status_code == 201
    responses = parallel(10, lambda i: post(live_url, alice.key, "/api/v1/tasks", TASK, key("done")))
    assert [r.status_code for r in responses] == [201] * 10
    assert all(r.headers["Idempotent-Replayed"] == "true" and r.json() == first.json for r in responses)
    assert count(app, "Task") == 1


def test_a_burst_of_identical_first_requests_creates_one_task(app, live_url, alice):
    """Ten copies at once, none before: one runs. Each other copy gets what
    the two tests above pin for its moment: 409 while the first runs, the
    first's answer (replayed) once it finished."""
    responses = parallel(10, lambda i: post(live_url, alice.key, "/api/v1/tasks", TASK, key("burst")))
    originals = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
    assert len(originals) == 1
    for r in responses:
        if r is originals[0]:
            continue
        if r.headers.get("Idempotent-Replayed") == "true":
            assert r.status_code == 201 and r.json() == originals[0].json()
        else:
            assert r.status_code == 409 and r.json()["code"] == "idempotency_in_flight"
    assert count(app, "Task") == 1


def test_concurrent_first_requests_with_different_bodies_run_one_and_refuse_the_others(app, live_url, alice):
    """Whoever reserves the key first runs; each other request is another
    request under a used key (422), also when it lost the race to insert the
    key (PostgreSQL's unique index) rather than found it."""
    responses = parallel(
        8, lambda i: post(live_url, alice.key, "/api/v1/tasks", {**TASK, "title": f"t{i}"}, key("mixed"))
    )
    assert sorted(r.status_code for r in responses) == [201] + [422] * 7, [r.json() for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 422} == {"idempotency_key_reused"}
    assert count(app, "Task") == 1


def test_a_duplicate_while_the_first_is_in_flight_is_409(app, alice):
    reserve_as_a_first_request(app, "busy")
    response = alice.post("/api/v1/tasks", json=TASK, headers=key("busy"))
    assert response.status_code == 409 and response.json["code"] == "idempotency_in_flight"
    assert count(app, "Task") == 0


def test_a_retry_that_took_over_a_stale_key_holds_it_while_it_runs(app, alice):
    """A reservation older than the request timeout is taken over by the
    next retry (its request died). The takeover is a reservation of its
    own, kept before the retry's create runs: a duplicate meanwhile is
    409, not a second create."""
    from hub.db import db
    from hub.models import IdempotencyKey

    reserve_as_a_first_request(app, "stale")  # ... and that request died
    with app.app_context():
        record = db.session.scalar(select(IdempotencyKey))
        record.created_at -= timedelta(seconds=app.config["HUB_WEB_TIMEOUT"] + 1)
        db.session.commit()
    reserve_as_a_first_request(app, "stale")  # the retry takes it over; its create may still run
    response = alice.post("/api/v1/tasks", json=TASK, headers=key("stale"))
    assert response.status_code == 409 and response.json["code"] == "idempotency_in_flight"
    assert count(app, "Task") == 0


def test_a_failed_create_frees_its_key_for_a_corrected_retry(app, alice):
    bad = alice.post("/api/v1/tasks", json={"title": "no prompt"}, headers=key("fix-me"))
    assert bad.status_code == 422 and "prompt" in bad.json["errors"]
    good = alice.post("/api/v1/tasks", json=TASK, headers=key("fix-me"))
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers

    for _ in range(4):
        alice.create_task()
    full = alice.post("/api/v1/tasks", json=TASK, headers=key("later"))
    assert full.status_code == 429 and full.json["code"] == "concurrency_limit"
    alice.post(f"/api/v1/tasks/{good.json['id']}/cancel")
    assert alice.post("/api/v1/tasks", json=TASK, headers=key("later")).status_code == 201


def test_messages_replay_too(app, alice):
    body = {"message": "Summarise the repo", "conversation_id": "1701.0002"}
    first = alice.post("/api/v1/messages", json=body, headers=key("m"))
    again = alice.post("/api/v1/messages", json=body, headers=key("m"))
    assert first.status_code == again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(app, "Message") == 1


def test_keys_expire_after_24_hours_and_are_cleaned_up(app, alice):
    from hub.db import db
    from hub.models import IdempotencyKey
    from hub.services import accounts
    from hub.services.idempotency import digest

    first = alice.post("/api/v1/tasks", json=TASK, headers=key("old"))
    alice.post("/api/v1/tasks", json=TASK, headers=key("other"))
    with app.app_context():
        for record in db.session.scalars(select(IdempotencyKey)):
            record.created_at -= timedelta(hours=24, seconds=1)
        db.session.commit()
    again = alice.post("/api/v1/tasks", json=TASK, headers=key("old"))
    assert again.status_code == 201 and again.json["id"] != first.json["id"]
    assert count(app, "IdempotencyKey") == 1  # "other" expired and was removed

    # A replay cleans up too.
    alice.post("/api/v1/tasks", json={**TASK, "title": "third"}, headers=key("third"))
    with app.app_context():
        third = digest(f"{accounts.get_user('alice').personal_space_pk}:third")  # a key is its space's
        for record in db.session.scalars(select(IdempotencyKey).where(IdempotencyKey.key_hash != third)):
            record.created_at -= timedelta(hours=24, seconds=1)
        db.session.commit()
    assert (
        alice.post("/api/v1/tasks", json={**TASK, "title": "third"}, headers=key("third")).headers[
            "Idempotent-Replayed"
        ]
        == "true"
    )
    assert count(app, "IdempotencyKey") == 1


def test_key_is_checked(alice):
    for bad in ("", " ", "k" * 256):
        response = alice.post("/api/v1/tasks", json=TASK, headers=key(bad))
        assert response.status_code == 422 and "Idempotency-Key" in response.json["errors"]
    assert alice.post("/api/v1/tasks", json=TASK, headers=key("k" * 255)).status_code == 201  # the longest


def test_a_failed_send_message_keeps_nothing_and_frees_its_key(app, alice):
    """Send Message stores the message, then finds the concurrency limit
    reached: with a key as without one, the message is not kept, and a retry
    once a slot is free runs."""
    ids = [alice.create_task()["id"] for _ in range(5)]
    body = {"message": "Summarise the repo", "conversation_id": "full"}
    refused = alice.post("/api/v1/messages", json=body, headers=key("m-full"))
    assert refused.status_code == 429 and refused.json["code"] == "concurrency_limit"
    assert count(app, "Message") == 0 and count(app, "Conversation") == 0
    alice.post(f"/api/v1/tasks/{ids[0]}/cancel")
    retried = alice.post("/api/v1/messages", json=body, headers=key("m-full"))
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert count(app, "Message") == 1


def test_a_kept_response_sealed_under_another_secret_key_is_not_replayed(app, alice, hub_env):
    from hub import create_app

    first = alice.post("/api/v1/tasks", json=TASK, headers=key("rotated"))
    assert first.status_code == 201
    rotated = create_app({"TESTING": True, "SECRET_KEY": "another-secret"}).test_client()
    again = rotated.post("/api/v1/tasks", json=TASK, headers={**alice.headers, **key("rotated")})
    assert again.status_code == 409 and again.json["code"] == "idempotency_key_unreplayable"
    assert count(app, "Task") == 1


def test_idempotency_key_is_in_the_openapi_document(client):
    spec = client.get("/openapi.json").json
    for path in ("/api/v1/tasks", "/api/v1/messages"):
        operation = spec["paths"][path]["post"]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
        assert "409" in operation["responses"]
        # The view's own documentation survives the wrapping: its summary and body.
        assert operation["summary"] and "application/json" in operation["requestBody"]["content"]


def test_kept_responses_are_encrypted_at_rest(app, alice):
    from hub.db import db
    from hub.models import IdempotencyKey

    first = alice.post("/api/v1/tasks", json={**TASK, "title": "Rotate the keys"}, headers=key("sealed"))
    with app.app_context():
        stored = db.session.scalar(select(IdempotencyKey)).response_body
    assert b"Rotate the keys" not in stored and first.json["id"].encode() not in stored
    assert (
        alice.post("/api/v1/tasks", json={**TASK, "title": "Rotate the keys"}, headers=key("sealed")).json == first.json
    )
