"""Each OAuth write that reads first (the client, the user's grant, the
token) takes SQLite's write lock up front (``begin_write``): it then waits
for another writer and succeeds, where a deferred transaction would fail
with "database is locked" (a consent, a code or a revocation lost while
the hub is busy)."""

import pytest
from support import TEST_DATABASE
from support.write_lock import run_while_another_writes

pytestmark = [
    pytest.mark.sqlite_only,
    pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="SQLite's database-wide write lock"),
]

ZAPIER = "https://zapier.com/dashboard/auth/oauth/return/App1/"


@pytest.fixture
def connected(app, alice):
    """Alice connected Zapier: a consent and an access token."""
    from hub.db import db
    from hub.services import accounts, oauth

    with app.app_context():
        client, _secret = oauth.create_client("Zapier", [ZAPIER])
        user = accounts.get_user("alice")
        oauth.remember_consent(user, client, "tasks:read")
        token = oauth.new_access_token()
        oauth.save_token({"access_token": token, "expires_in": 3600, "scope": "tasks:read"}, client=client, user=user)
        db.session.commit()
        return {"client_id": client.client_id, "token": token}


def alice():
    from hub.services import accounts

    return accounts.get_user("alice")


def revoke_family(oauth, plain):
    oauth.revoke_family(oauth.find_token(plain))
    return oauth.find_token(plain).revoked_at is not None


def save_code(oauth, client_id):
    client = oauth.find_client(client_id)
    code = oauth.save_code(
        "a-code",
        client=client,
        user=alice(),
        redirect_uri=ZAPIER,
        scope="tasks:read",
        code_challenge=None,
        code_challenge_method=None,
    )
    return code.scope


OPERATIONS = {
    "register a client after a read": (lambda o, c: (o.list_clients(), o.create_client("Two", [ZAPIER]))[1][0].name),
    "an app registers itself after a read": lambda o, c: (
        (
            o.list_clients(),
            o.register_client({"redirect_uris": ["http://127.0.0.1:33418/cb"], "client_name": "Self"}, ip="127.0.0.1"),
        )[1][0].name
    ),
    "revoke a client": lambda o, c: o.revoke_client(c["client_id"]).revoked_at is not None,
    "save a code": lambda o, c: save_code(o, c["client_id"]),
    "remember a consent": lambda o, c: o.remember_consent(alice(), o.find_client(c["client_id"]), "tasks:write").scope,
    "revoke a token": lambda o, c: revoke_family(o, c["token"]),
    "disconnect an app": lambda o, c: o.revoke_grant(alice(), c["client_id"]).client_id,
}
EXPECTED = {
    "register a client after a read": "Two",
    "an app registers itself after a read": "Self",
    "revoke a client": True,
    "save a code": "tasks:read",
    "remember a consent": "tasks:read tasks:write",
    "revoke a token": True,
    "disconnect an app": None,  # filled in by the test: the client's id
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_an_oauth_write_waits_for_another_writer_and_succeeds(app, connected, operation):
    from hub.services import oauth

    expected = EXPECTED[operation] if EXPECTED[operation] is not None else connected["client_id"]
    assert run_while_another_writes(app, lambda: OPERATIONS[operation](oauth, connected)) == expected
