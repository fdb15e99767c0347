def test_each_user_has_a_global_codebase(alice):
    response = alice.get("/api/v1/codebases")
    assert response.status_code == 200
    assert [c["codebase_id"] for c in response.json] == ["global"]


def test_create_codebase_then_use_it(alice, bob):
    created = alice.post("/api/v1/codebases", json={"name": "Web app", "path": "/srv/web"})
    assert created.status_code == 201 and created.json["codebase_id"].startswith("cb_")
    assert [c["name"] for c in alice.get("/api/v1/codebases").json] == ["Global", "Web app"]
    assert [c["name"] for c in bob.get("/api/v1/codebases").json] == ["Global"]
    task = alice.create_task(codebase_id=created.json["codebase_id"])
    assert task["codebase_id"] == created.json["codebase_id"]


def test_codebase_needs_a_name(alice):
    response = alice.post("/api/v1/codebases", json={"path": "/x"})
    assert response.status_code == 422 and "name" in response.json["errors"]


def test_me(alice):
    response = alice.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json["username"] == "alice" and response.json["tier"] == "free"


def test_unknown_route_and_method_are_json(alice):
    missing = alice.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json["code"] == "not_found"
    wrong = alice.delete("/api/v1/me")
    assert wrong.status_code == 405 and wrong.json["code"] == "method_not_allowed"
