"""Zapier's own runtime drives the exported app against a live hub: gunicorn
and `codetether-hub worker` as subprocesses, real Redis, a webhook receiver on
loopback, and the OAuth2 connection walked through the hub's HTML forms."""

import json
import subprocess
import sys
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from support.delivery import DeliveryWorker
from support.forms import Browser, Forms
from support.oauth import ZAPIER_REDIRECT, pkce_pair, redirect_params
from support.zapier_node import HARNESS, node_env

# The SQLite pass is enough: Zapier's runtime asks nothing more of the database.
pytestmark = pytest.mark.sqlite_only

USERNAME, PASSWORD = "zoe", "correct horse battery"


@pytest.fixture
def zapier_hub(start_hub):
    """The hub as deployed (gunicorn, two web workers) and a delivery worker
    that may reach the harness's receiver on this machine."""
    hub = start_hub(process=True, HUB_WEB_WORKERS="2", HUB_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8")
    worker = DeliveryWorker().start()
    yield hub
    worker.stop()


def client_env(client: dict) -> dict:
    """The app's environment, as `zapier env:set` would give it."""
    return {"CLIENT_ID": client["client_id"], "CLIENT_SECRET": client["client_secret"]}


def authorize_url(app_dir, client, state):
    done = subprocess.run(
        ["node", str(HARNESS / "authorize_url.js"), str(app_dir), ZAPIER_REDIRECT, state],
        env=node_env(**client_env(client)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def with_zapiers_pkce(app_dir, url):
    """What Zapier's servers do for an app with ``enablePkce`` (core renders
    only the app's own parameters): make a verifier, add its S256 challenge
    to the authorize URL, and later hand the verifier to getAccessToken as
    ``bundle.inputData.code_verifier``."""
    definition = json.loads((app_dir / "definition.json").read_text())
    assert definition["authentication"]["oauth2Config"]["enablePkce"] is True
    assert "code_challenge" not in url
    verifier, challenge = pkce_pair()
    return url + "&" + urlencode({"code_challenge": challenge, "code_challenge_method": "S256"}), verifier


def sign_in_and_allow(hub, app_dir, client, state):
    """What the person does in Zapier's pop-up: open the authorize URL that
    Zapier renders, fill the hub's sign-in form, allow on the consent form;
    the hub redirects back with a code. Returns it and its PKCE verifier."""
    url = authorize_url(app_dir, client, state)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(hub.url("/oauth/authorize?"))
    assert query["scope"] == ["tasks:read tasks:write messages:write codebases:read messages:read"]
    assert query["client_id"] == [client["client_id"]] and query["redirect_uri"] == [ZAPIER_REDIRECT]
    # The client was registered with PKCE required (the default): without it the hub refuses.
    assert redirect_params(Browser(hub).go(url))["error"] == "invalid_request"
    url, verifier = with_zapiers_pkce(app_dir, url)
    browser = Browser(hub)
    page = browser.go(url)
    if page.status_code == 200 and "password" in page.text:
        page = browser.submit(page, {"username": USERNAME, "password": PASSWORD}, field="username")
    if page.status_code == 200 and "decision" in page.text:
        assert Forms(page.text).with_field("decision")["buttons"] == [("decision", "allow"), ("decision", "deny")]
        page = browser.submit(page, button=("decision", "allow"))
    params = redirect_params(page)
    assert params["state"] == state
    return params["code"], verifier


def expired_access_token(hub, app_dir, client):
    """A second connection whose access token has run out (its expiry moved
    into the past, as an hour's wait would)."""
    code, verifier = sign_in_and_allow(hub, app_dir, client, "second")
    issued = hub.token(
        grant_type="authorization_code", code=code, redirect_uri=ZAPIER_REDIRECT, code_verifier=verifier, **client
    )
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    from hub.db import db, utcnow
    from hub.services import oauth

    with hub.app.app_context():
        oauth.find_token(token).access_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert hub.api("/api/v1/me", token).status_code == 401
    return token


def test_zapier_runtime_drives_the_exported_app_against_a_live_hub(zapier_hub, tmp_path):
    hub = zapier_hub
    app_dir = tmp_path / "app"
    hub.cli("zapier", "export", str(app_dir), "--base-url", hub.base)
    # pro: the whole flow makes more calls in a minute than the free tier's 60
    hub.create_user(USERNAME, password=PASSWORD, tier="pro")
    created = hub.create_client()
    assert created["require_pkce"] is True
    client = {"client_id": created["client_id"], "client_secret": created["client_secret"]}
    code, verifier = sign_in_and_allow(hub, app_dir, client, "zapier-state")
    expired = expired_access_token(hub, app_dir, client)

    env = node_env(
        APP_DIR=str(app_dir),
        HUB_URL=hub.base,
        OAUTH_CODE=code,
        CODE_VERIFIER=verifier,
        REDIRECT_URI=ZAPIER_REDIRECT,
        USERNAME=USERNAME,
        EXPIRED_TOKEN=expired,
        FINISH_TASK_PYTHON=sys.executable,
        FINISH_TASK_SCRIPT=str(HARNESS / "finish_task.py"),
        **client_env(client),
    )
    done = subprocess.run(
        ["node", "--test", "--test-reporter=spec", str(HARNESS / "runtime.test.js")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=HARNESS,
    )
    print(done.stdout[-6000:])
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-4000:]
    assert "ℹ fail 0" in done.stdout and "ℹ pass 15" in done.stdout
