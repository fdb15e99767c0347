"""RELIABILITY.md's OAuth2 list, item by item, against a real hub."""

import threading
from datetime import timedelta

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from support.forms import Browser
from support.oauth import ZAPIER_REDIRECT, authorize_url, connect, pkce_pair, redirect_params


@pytest.fixture
def zapier(hub):
    username, password = hub.create_user("alice")
    client = hub.create_client()
    browser = Browser(hub)
    page = browser.go(authorize_url(hub, client["client_id"]))
    browser.sign_in(page, username, password)
    return hub, client, browser, (username, password)


def exchange(hub, client, code, **extra):
    return hub.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=ZAPIER_REDIRECT,
        client_id=client["client_id"],
        client_secret=client.get("client_secret") or "",
        **extra,
    )


REDIRECT_VARIANTS = [
    ZAPIER_REDIRECT.rstrip("/"),  # trailing slash
    ZAPIER_REDIRECT.replace("App123456CLIAPI", "app123456cliapi"),  # case
    ZAPIER_REDIRECT.replace("zapier.com", "ZAPIER.com"),  # host case
    ZAPIER_REDIRECT + "?next=1",  # query
    ZAPIER_REDIRECT.replace("https://", "http://"),  # scheme
    ZAPIER_REDIRECT.replace("https://", "https://user@"),  # userinfo
    ZAPIER_REDIRECT.replace("zapier.com", "zapier.com.evil.test"),  # host suffix
    ZAPIER_REDIRECT + "extra",  # path prefix match
]


def test_redirect_uri_variants_are_shown_never_redirected(zapier):
    hub, client, browser, _ = zapier
    for variant in REDIRECT_VARIANTS:
        page = browser.go(authorize_url(hub, client["client_id"], redirect_uri=variant))
        assert page.status_code == 400 and "location" not in page.headers, variant
        assert "This app cannot connect" in page.text and "not supported" in page.text


def test_unknown_client_is_shown_not_redirected(zapier):
    hub, _, browser, _ = zapier
    page = browser.go(authorize_url(hub, "cli_unknown"))
    assert page.status_code == 400 and "location" not in page.headers


def test_pkce_s256_required_for_public_clients_and_plain_refused(hub):
    username, password = hub.create_user("alice")
    public = hub.create_client("--public", redirect_uri="http://127.0.0.1:8123/callback", name="CLI app")
    assert public["client_secret"] is None and public["require_pkce"] is True
    browser = Browser(hub)
    redirect = "http://127.0.0.1:8123/callback"
    browser.login(username, password)

    no_pkce = redirect_params(browser.go(authorize_url(hub, public["client_id"], redirect_uri=redirect, pkce=False)))
    assert no_pkce["error"] == "invalid_request" and "PKCE" in no_pkce["error_description"]
    verifier, challenge = pkce_pair()
    plain = redirect_params(
        browser.go(
            authorize_url(
                hub, public["client_id"], redirect_uri=redirect, code_challenge=verifier, code_challenge_method="plain"
            )
        )
    )
    assert plain["error"] == "invalid_request" and "plain" in plain["error_description"]
    implied_plain = redirect_params(
        browser.go(authorize_url(hub, public["client_id"], redirect_uri=redirect, code_challenge=verifier))
    )
    assert implied_plain["error"] == "invalid_request"

    page = connect(
        hub,
        browser,
        public,
        username,
        password,
        redirect_uri=redirect,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    code = redirect_params(page)["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "client_id": public["client_id"],
    }
    missing = hub.token(**form, code_verifier=None)
    assert missing.status_code == 400 and "code_verifier" in missing.json()["error_description"]
    wrong = hub.token(**form, code_verifier=pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    ok = hub.token(**form, code_verifier=verifier)
    assert ok.status_code == 200, ok.text
    # A public client cannot revoke or introspect (no client authentication).
    assert (
        httpx.post(
            hub.url("/oauth/introspect"),
            data={"token": ok.json()["access_token"], "client_id": public["client_id"]},
            timeout=30,
        ).status_code
        == 401
    )


def test_every_new_client_must_use_pkce(hub):
    """RFC 9700 §2.1.1: S256 PKCE for confidential clients too, by default."""
    username, password = hub.create_user("alice")
    browser = Browser(hub)
    browser.login(username, password)
    for client in (hub.create_client(), hub.create_client("--require-pkce", name="Old script")):
        assert client["require_pkce"] is True and client["client_secret"]
        refused = redirect_params(browser.go(authorize_url(hub, client["client_id"], pkce=False)))
        assert refused["error"] == "invalid_request" and "PKCE" in refused["error_description"]
        verifier, challenge = pkce_pair()
        code = redirect_params(
            connect(hub, browser, client, *("alice", password), code_challenge=challenge, code_challenge_method="S256")
        )["code"]
        without = exchange(hub, client, code, code_verifier=None)
        assert without.status_code == 400 and "code_verifier" in without.json()["error_description"]
        assert exchange(hub, client, code, code_verifier=pkce_pair()[0]).json()["error"] == "invalid_grant"
        assert exchange(hub, client, code, code_verifier=verifier).status_code == 200


def test_no_pkce_is_the_explicit_opt_out(hub):
    username, password = hub.create_user("alice")
    client = hub.create_client("--no-pkce", name="Legacy")
    assert client["require_pkce"] is False
    listed = hub.cli("clients", "list")
    assert next(line for line in listed.splitlines() if client["client_id"] in line).split()[3] == "no-pkce"
    browser = Browser(hub)
    code = redirect_params(connect(hub, browser, client, username, password, pkce=False))["code"]
    assert exchange(hub, client, code, code_verifier=None).status_code == 200
    # A challenge it does send is still checked.
    code = redirect_params(connect(hub, browser, client, username, password))["code"]
    assert exchange(hub, client, code, code_verifier=None).status_code == 400


def test_code_is_single_use_under_two_concurrent_redemptions(zapier):
    hub, client, browser, creds = zapier
    code = redirect_params(connect(hub, browser, client, *creds))["code"]
    barrier = threading.Barrier(2)
    results = []

    def redeem():
        barrier.wait()
        results.append(exchange(hub, client, code))

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 400], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 400)
    assert loser.json()["error"] == "invalid_grant"
    # The replay revoked what the code issued.
    winner = next(r for r in results if r.status_code == 200).json()
    assert hub.api("/api/v1/me", winner["access_token"]).status_code == 401


def test_replayed_code_revokes_what_it_issued(zapier):
    hub, client, browser, creds = zapier
    code = redirect_params(connect(hub, browser, client, *creds))["code"]
    tokens = exchange(hub, client, code).json()
    assert hub.api("/api/v1/me", tokens["access_token"]).status_code == 200
    replay = exchange(hub, client, code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert hub.api("/api/v1/me", tokens["access_token"]).status_code == 401
    refresh = hub.refresh(client, tokens["refresh_token"])
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_code_is_bound_to_client_and_redirect_uri_and_expires(zapier):
    hub, client, browser, creds = zapier
    other = hub.create_client(name="Other", redirect_uri="https://other.example/cb")
    code = redirect_params(connect(hub, browser, client, *creds))["code"]
    by_other = hub.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=ZAPIER_REDIRECT,
        client_id=other["client_id"],
        client_secret=other["client_secret"],
    )
    assert by_other.status_code == 400 and by_other.json()["error"] == "invalid_grant"
    wrong_uri = hub.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=ZAPIER_REDIRECT + "x",
        client_id=client["client_id"],
        client_secret=client["client_secret"],
    )
    assert wrong_uri.status_code == 400 and wrong_uri.json()["error"] == "invalid_grant"
    assert exchange(hub, client, code).status_code == 200  # failed attempts did not spend it

    # Codes live at most 60 s: move a fresh code's issue time back a minute.
    code = redirect_params(connect(hub, browser, client, *creds))["code"]
    with hub.app.app_context():
        from hub.db import db
        from hub.models import OAuthCode
        from hub.services.accounts import hash_secret

        row = db.session.query(OAuthCode).filter_by(code_hash=hash_secret(code)).one()
        assert row.expires_at - row.created_at <= timedelta(seconds=60)
        row.expires_at = row.created_at
        db.session.commit()
    expired = exchange(hub, client, code)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


def test_expired_access_token_is_401_invalid_token(zapier):
    hub, client, browser, creds = zapier
    tokens = exchange(hub, client, redirect_params(connect(hub, browser, client, *creds))["code"]).json()
    assert hub.api("/api/v1/me", tokens["access_token"]).status_code == 200
    with hub.app.app_context():  # an hour passes
        from hub.db import db
        from hub.models import OAuthToken

        for row in db.session.query(OAuthToken):
            row.access_expires_at -= timedelta(hours=1)
        db.session.commit()
    response = hub.api("/api/v1/me", tokens["access_token"])
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    # Zapier refreshes, as it should, and carries on with the new token.
    refreshed = hub.refresh(client, tokens["refresh_token"])
    assert refreshed.status_code == 200
    assert hub.api("/api/v1/me", refreshed.json()["access_token"]).status_code == 200


def test_bad_refresh_token_is_400_invalid_grant_never_401(zapier):
    hub, client, _, _ = zapier
    response = hub.refresh(client, "ctr_made_up")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_no_password_implicit_or_client_credentials_grant(zapier):
    hub, client, browser, _ = zapier
    for grant_type, extra in [
        ("password", {"username": "alice", "password": "correct horse battery"}),
        ("client_credentials", {}),
        ("implicit", {}),
    ]:
        response = hub.token(
            grant_type=grant_type, client_id=client["client_id"], client_secret=client["client_secret"], **extra
        )
        assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    implicit = browser.go(authorize_url(hub, client["client_id"], response_type="token"))
    params = redirect_params(implicit)
    assert params["error"] == "unsupported_response_type" and "access_token" not in implicit.headers["location"]


def test_revocation_and_introspection_require_client_auth(zapier):
    hub, client, browser, creds = zapier
    other = hub.create_client(name="Other", redirect_uri="https://other.example/cb")
    tokens = exchange(hub, client, redirect_params(connect(hub, browser, client, *creds))["code"]).json()
    auth = (client["client_id"], client["client_secret"])

    for path in ("/oauth/introspect", "/oauth/revoke"):
        bare = httpx.post(hub.url(path), data={"token": tokens["access_token"]}, timeout=30)
        assert bare.status_code == 401 and bare.json()["error"] == "invalid_client"
    seen_by_other = httpx.post(
        hub.url("/oauth/introspect"),
        data={"token": tokens["access_token"]},
        auth=(other["client_id"], other["client_secret"]),
        timeout=30,
    )
    assert seen_by_other.json() == {"active": False}
    info = httpx.post(
        hub.url("/oauth/introspect"), data={"token": tokens["access_token"]}, auth=auth, timeout=30
    ).json()
    assert info["active"] is True and info["client_id"] == client["client_id"] and info["username"] == "alice"
    assert set(info["scope"].split()) == set(tokens["scope"].split())

    revoked = httpx.post(
        hub.url("/oauth/revoke"),
        data={
            "token": tokens["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
        timeout=30,
    )
    assert revoked.status_code == 200 and revoked.json() == {}
    assert hub.api("/api/v1/me", tokens["access_token"]).status_code == 401
    after = httpx.post(
        hub.url("/oauth/introspect"), data={"token": tokens["access_token"]}, auth=auth, timeout=30
    ).json()
    assert after == {"active": False}


def test_metadata(hub):
    document = httpx.get(hub.url("/.well-known/oauth-authorization-server"), timeout=30).json()
    metadata = AuthorizationServerMetadata(document)
    metadata.validate()
    assert document["issuer"] == hub.base
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert document["response_types_supported"] == ["code"]
    assert document["authorization_response_iss_parameter_supported"] is True
    assert httpx.get(document["token_endpoint"], timeout=30).status_code == 405


def test_secrets_codes_and_tokens_are_stored_hashed(zapier):
    hub, client, browser, creds = zapier
    code = redirect_params(connect(hub, browser, client, *creds))["code"]
    tokens = exchange(hub, client, code).json()
    from sqlalchemy import create_engine, text

    engine = create_engine(hub.app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as conn:
        dump = "\n".join(
            str(row)
            for table in ("oauth_clients", "oauth_codes", "oauth_tokens")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    engine.dispose()
    for secret in (client["client_secret"], code, tokens["access_token"], tokens["refresh_token"]):
        assert secret not in dump


def test_another_client_cannot_revoke_a_clients_token(zapier):
    """RFC 7009 §2.1: a client revokes only tokens issued to it (OAuthToken.check_client)."""
    hub, client, browser, creds = zapier
    other = hub.create_client(name="Other", redirect_uri="https://other.example/cb")
    tokens = exchange(hub, client, redirect_params(connect(hub, browser, client, *creds))["code"]).json()
    for token, hint in (
        (tokens["access_token"], "access_token"),
        (tokens["refresh_token"], "refresh_token"),
        (tokens["refresh_token"], None),
    ):
        form = {"token": token, **({"token_type_hint": hint} if hint else {})}
        foreign = httpx.post(
            hub.url("/oauth/revoke"), data=form, auth=(other["client_id"], other["client_secret"]), timeout=30
        )
        assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_grant", foreign.text
    # The connection is intact: its access token works and its refresh token still rotates.
    assert hub.api("/api/v1/me", tokens["access_token"]).status_code == 200
    refreshed = hub.refresh(client, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text


def test_another_clients_refresh_token_neither_refreshes_nor_ends_the_connection(zapier):
    """Reuse detection revokes a family only when its own client replays a
    spent refresh token; another client presenting it is just refused."""
    hub, client, browser, creds = zapier
    other = hub.create_client(name="Other", redirect_uri="https://other.example/cb")
    first = exchange(hub, client, redirect_params(connect(hub, browser, client, *creds))["code"]).json()
    own = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    second = hub.token(grant_type="refresh_token", refresh_token=first["refresh_token"], **own).json()
    by_other = {"client_id": other["client_id"], "client_secret": other["client_secret"]}
    for refresh_token in (second["refresh_token"], first["refresh_token"]):  # live, then spent
        refused = hub.token(grant_type="refresh_token", refresh_token=refresh_token, **by_other)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    assert hub.api("/api/v1/me", second["access_token"]).status_code == 200
    third = hub.token(grant_type="refresh_token", refresh_token=second["refresh_token"], **own)
    assert third.status_code == 200, third.text
    assert hub.api("/api/v1/me", third.json()["access_token"]).status_code == 200
