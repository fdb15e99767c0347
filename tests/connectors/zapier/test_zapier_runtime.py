"""Zapier's own runtime drives the exported app against a live hub: gunicorn
and `codetether-hub worker` as subprocesses, real Redis, a webhook receiver on
loopback, and the OAuth2 connection walked through the hub's HTML forms."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from conftest import free_port, repo_root, wait_for
from oauth_live_hub import ZAPIER_REDIRECT, Browser, Forms, pkce_pair, redirect_params
from zapier_node import HARNESS, node_env

USERNAME, PASSWORD = "zoe", "correct horse battery"


class LiveHub:
    def __init__(self, base):
        self.base = base

    def url(self, path):
        return self.base + path


@pytest.fixture
def zapier_hub(hub_env, monkeypatch, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("HUB_BASE_URL", base)
    monkeypatch.setenv("HUB_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
    logs = tmp_path / "logs"
    logs.mkdir()
    children = []
    for name, command in (
        (
            "web",
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "hub:create_app()"],
        ),
        ("worker", [sys.executable, "-m", "hub", "worker"]),
    ):
        out = open(logs / f"{name}.log", "w")
        children.append(
            (
                subprocess.Popen(command, cwd=repo_root(), env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT),
                out,
            )
        )

    def up():
        try:
            return httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=30, interval=0.1, message="gunicorn to answer")
    yield LiveHub(base)
    for child, out in children:
        child.terminate()
    for child, out in children:
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        out.close()


def cli(*args):
    from click.testing import CliRunner

    from hub.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


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
    assert query["scope"] == ["tasks:read tasks:write messages:write codebases:read"]
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
    issued = httpx.post(
        hub.url("/oauth/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": ZAPIER_REDIRECT,
            "code_verifier": verifier,
            **client,
        },
        timeout=30,
    )
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    from hub import create_app
    from hub.db import db, utcnow
    from hub.services import oauth

    app = create_app()
    with app.app_context():
        oauth.find_token(token).access_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        db.engine.dispose()
    assert httpx.get(hub.url("/api/v1/me"), headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 401
    return token


def test_zapier_runtime_drives_the_exported_app_against_a_live_hub(zapier_hub, tmp_path):
    hub = zapier_hub
    app_dir = tmp_path / "app"
    cli("zapier", "export", str(app_dir), "--base-url", hub.base)
    from hub import create_app
    from hub.services import accounts

    with create_app().app_context():
        # pro: the whole flow makes more calls in a minute than the free tier's 60
        accounts.create_user(USERNAME, password=PASSWORD, tier="pro")
    created = json.loads(cli("clients", "create", "--name", "Zapier", "--redirect-uri", ZAPIER_REDIRECT, "--json"))
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
