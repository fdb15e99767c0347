"""Guessing secrets is slowed where a secret is checked: bearer credentials
and the OAuth endpoints, per client address (passwords: test_sign_in_guessing.py)."""

import secrets

import pytest

# The SQLite pass is enough: the limits are counted and decided in Redis; the
# database only holds the users and their credentials here.
pytestmark = pytest.mark.sqlite_only


def from_address(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response, window):
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.json["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= window
    return response.json["message"]


@pytest.fixture
def few_auth_failures(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_AUTH_FAILURE_RATE_LIMIT", "3/minute")


def test_bearer_failures_are_limited_per_address_on_api_connector_and_worker_routes(few_auth_failures, app, alice):
    attacker = from_address(app, "10.0.0.66")
    guesses = [
        attacker.get("/api/v1/me", headers=bearer("ct_" + secrets.token_urlsafe(30))),
        attacker.get("/connectors/zapier/triggers/task_completed", headers=bearer("cto_" + secrets.token_urlsafe(32))),
        attacker.post(
            "/api/v1/worker/register", json={"name": "w"}, headers=bearer("ctw_" + secrets.token_urlsafe(30))
        ),
    ]
    assert [r.status_code for r in guesses] == [401, 401, 401]
    message = assert_refused(attacker.get("/api/v1/tasks", headers=bearer("ct_" + secrets.token_urlsafe(30))), 60)
    assert "failed authentications from this address" in message
    # Past the limit nothing sent from there is checked, a right key included.
    assert_refused(attacker.get("/api/v1/me", headers=alice.headers), 60)
    assert_refused(attacker.get("/api/v1/me", headers=bearer("a.jwt.shaped")), 60)
    # Other addresses are not affected.
    assert from_address(app, "10.0.0.7").get("/api/v1/me", headers=alice.headers).status_code == 200


def test_successful_and_credential_less_requests_do_not_count(few_auth_failures, app, alice):
    user = from_address(app, "10.0.0.8")
    for _ in range(5):
        assert user.get("/api/v1/me", headers=alice.headers).status_code == 200
        assert user.get("/api/v1/me").status_code == 401  # no credential: nothing was guessed
    wrong = [user.get("/api/v1/me", headers=bearer("ct_wrong")).status_code for _ in range(4)]
    assert wrong == [401, 401, 401, 429]


@pytest.fixture
def few_oauth_failures(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TOKEN_RATE_LIMIT", "3/minute")


@pytest.fixture
def oauth_client(app):
    from hub.services import oauth

    with app.app_context():
        client, secret = oauth.create_client("Zapier", ["https://zapier.com/dashboard/auth/oauth/return/App1/"])
        return {"client_id": client.client_id, "client_secret": secret}


def test_introspection_and_revocation_failures_are_limited_per_address(few_oauth_failures, app, oauth_client):
    attacker = from_address(app, "10.0.0.66")
    wrong = {"client_id": oauth_client["client_id"], "client_secret": "cts_guess"}
    statuses = [
        attacker.post("/oauth/introspect", data={"token": "cto_x", **wrong}).status_code,
        attacker.post("/oauth/revoke", data={"token": "cto_x", **wrong}).status_code,
        attacker.post("/oauth/introspect", data={"token": "cto_x", **wrong}).status_code,
    ]
    assert statuses == [401, 401, 401]  # one count for both endpoints
    for path in ("/oauth/introspect", "/oauth/revoke"):  # the right secret waits too
        assert_refused(attacker.post(path, data={"token": "cto_x", **oauth_client}), 60)
    assert (
        from_address(app, "10.0.0.7").post("/oauth/introspect", data={"token": "cto_x", **oauth_client}).status_code
        == 200
    )


def test_guessing_tokens_through_introspection_is_limited(few_oauth_failures, app, oauth_client):
    prober = from_address(app, "10.0.0.67")
    answers = [
        prober.post("/oauth/introspect", data={"token": "cto_" + secrets.token_urlsafe(32), **oauth_client})
        for _ in range(3)
    ]
    assert [(r.status_code, r.json) for r in answers] == [(200, {"active": False})] * 3
    assert_refused(prober.post("/oauth/introspect", data={"token": "cto_x", **oauth_client}), 60)


# -- whose address counts ------------------------------------------------------


def test_a_clients_own_x_forwarded_for_does_not_split_its_count(few_auth_failures, app):
    attacker = from_address(app, "10.0.0.66")
    statuses = [
        attacker.get("/api/v1/me", headers={**bearer("ct_wrong"), "X-Forwarded-For": f"198.51.100.{n}"}).status_code
        for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


@pytest.fixture
def behind_a_proxy(monkeypatch, few_auth_failures):
    monkeypatch.setenv("HUB_TRUSTED_PROXIES", "127.0.0.1, 10.9.0.0/16")


def test_behind_a_trusted_proxy_each_client_is_counted_not_the_proxy(behind_a_proxy, app, alice):
    proxy = from_address(app, "127.0.0.1")

    def via_proxy(client_ip, headers, chain=""):
        return proxy.get("/api/v1/me", headers={**headers, "X-Forwarded-For": f"{chain}{client_ip}, 10.9.0.4"})

    # An attacker's own X-Forwarded-For entries come before what the proxies appended: ignored.
    statuses = [via_proxy("203.0.113.66", bearer("ct_wrong"), chain=f"198.51.100.{n}, ").status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert via_proxy("203.0.113.66", alice.headers).status_code == 429
    assert via_proxy("203.0.113.7", alice.headers).status_code == 200  # another client behind the same proxy
