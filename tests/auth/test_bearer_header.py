"""How a credential is read from the request (RFC 6750): only from
``Authorization: Bearer <token>``, the scheme in any case, the token
trimmed; and what a refused credential is told."""

import pytest

# Reading the header asks nothing of the database the other credential tests do not: nothing for the PostgreSQL pass.
pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize("scheme", ["Basic", "Token", "ApiKey", "Bearer:"])
def test_a_valid_key_under_another_scheme_is_refused(client, alice, scheme):
    response = client.get("/api/v1/me", headers={"Authorization": f"{scheme} {alice.key}"})
    assert response.status_code == 401, response.json
    assert response.json["code"] == "unauthorized"  # told how to send one, not that this one is wrong
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer    ", "bearer \t"])
def test_the_bearer_scheme_without_a_token_says_how_to_send_one(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized" and "Authorization: Bearer <token>" in response.json["message"]
    assert "error=" not in response.headers["WWW-Authenticate"]  # no credential: no invalid_token (RFC 6750 §3.1)


def test_the_scheme_in_any_case_and_spaces_around_the_token_are_accepted(client, alice):
    for header in (f"bearer {alice.key}", f"BEARER {alice.key}  ", f"Bearer  {alice.key}"):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 200, (header, response.json)
        assert response.json["username"] == "alice"


def test_a_refused_credential_is_told_which_side_it_belongs_to(client, alice, app):
    """A worker token on a user's route and a user's key on the worker API
    are both 403 wrong_credential; the message says where each belongs."""
    from hub.services import workers

    with app.app_context():
        _token, worker_token = workers.create_token("w")
    as_worker = client.get("/api/v1/me", headers={"Authorization": f"Bearer {worker_token}"})
    assert as_worker.status_code == 403 and as_worker.json["code"] == "wrong_credential"
    assert "limited to the worker API" in as_worker.json["message"]
    as_user = alice.post("/api/v1/worker/register", json={"name": "w"})
    assert as_user.status_code == 403 and as_user.json["code"] == "wrong_credential"
    assert "limited to users' routes" in as_user.json["message"]
