import pytest


def test_message_starts_a_conversation_then_continues_it(alice):
    first = alice.post("/api/v1/messages", json={"message": "Hello"})
    assert first.status_code == 201
    conversation_id = first.json["conversation_id"]
    assert first.json["message_id"].startswith("msg_") and conversation_id.startswith("conv_")

    second = alice.post("/api/v1/messages", json={"message": "Again", "conversation_id": conversation_id})
    assert second.status_code == 201 and second.json["conversation_id"] == conversation_id

    listed = alice.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert [m["content"] for m in listed.json] == ["Hello", "Again"]
    assert [m["role"] for m in listed.json] == ["user", "user"]


def test_an_unseen_thread_id_starts_a_conversation_under_that_id(alice):
    for text in ("one", "two"):
        response = alice.post("/api/v1/messages", json={"message": text, "conversation_id": "1701.000200"})
        assert response.status_code == 201 and response.json["conversation_id"] == "1701.000200"
    listed = alice.get("/api/v1/conversations/1701.000200/messages").json
    assert [m["content"] for m in listed] == ["one", "two"]


def test_thread_ids_are_per_user(alice, bob):
    alice.post("/api/v1/messages", json={"message": "alice's", "conversation_id": "T1"})
    assert bob.get("/api/v1/conversations/T1/messages").status_code == 404
    bob.post("/api/v1/messages", json={"message": "bob's", "conversation_id": "T1"})
    assert [m["content"] for m in alice.get("/api/v1/conversations/T1/messages").json] == ["alice's"]
    assert [m["content"] for m in bob.get("/api/v1/conversations/T1/messages").json] == ["bob's"]


def test_codebase_is_kept_and_checked(alice):
    codebase = alice.post("/api/v1/codebases", json={"name": "api"}).json["codebase_id"]
    first = alice.post("/api/v1/messages", json={"message": "hi", "codebase_id": codebase})
    assert first.json["codebase_id"] == codebase
    clash = alice.post(
        "/api/v1/messages",
        json={"message": "hi", "conversation_id": first.json["conversation_id"], "codebase_id": "global"},
    )
    assert clash.status_code == 422 and "codebase_id" in clash.json["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": "x", "codebase_id": "missing"}, "codebase_id"),
        ({"message": "x", "conversation_id": "c" * 256}, "conversation_id"),
    ],
)
def test_bad_messages_are_422(alice, body, field):
    response = alice.post("/api/v1/messages", json=body)
    assert response.status_code == 422 and field in response.json["errors"]
    assert alice.get("/api/v1/conversations/c/messages").status_code == 404
