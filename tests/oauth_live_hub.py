"""A real hub on loopback and a "browser" that walks its HTML forms, as a
person connecting Zapier would."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from conftest import free_port
from werkzeug.serving import make_server

ZAPIER_REDIRECT = "https://zapier.com/dashboard/auth/oauth/return/App123456CLIAPI/"
ZAPIER_SCOPES = "tasks:read tasks:write messages:write codebases:read"


class LiveHub:
    def __init__(self, app, base):
        self.app, self.base = app, base

    def url(self, path):
        return self.base + path

    def cli(self, *args):
        from hub.cli import main

        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output) if "--json" in args else result.output

    def create_client(self, *extra, redirect_uri=ZAPIER_REDIRECT, name="Zapier"):
        return self.cli("clients", "create", "--name", name, "--redirect-uri", redirect_uri, *extra, "--json")

    def create_user(self, username, password="correct horse battery", **kw):
        from hub.services import accounts

        with self.app.app_context():
            accounts.create_user(username, password=password, **kw)
        return username, password

    def token(self, **form):
        """POST /oauth/token. A code exchange sends the verifier of
        ``authorize_url``'s default challenge unless given one
        (``code_verifier=None``: none at all)."""
        if form.get("grant_type") == "authorization_code":
            form.setdefault("code_verifier", PKCE_VERIFIER)
        return httpx.post(self.url("/oauth/token"), data={k: v for k, v in form.items() if v is not None}, timeout=30)

    def exchange(self, client, code, **extra):
        """Trade a code from ``connect`` for tokens as Zapier does (form body, secret in it)."""
        return self.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=client["redirect_uris"][0],
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            **extra,
        )

    def api(self, path, token, method="GET", **kw):
        return httpx.request(method, self.url(path), headers={"Authorization": f"Bearer {token}"}, **kw, timeout=30)


@pytest.fixture
def start_hub(hub_env, monkeypatch):
    """Start a hub (werkzeug, threaded) on a free loopback port; extra
    settings come in as environment variables, as in production."""
    started = []

    def start(port=None, **settings):
        from hub import create_app

        port = port or free_port()
        base = f"http://127.0.0.1:{port}"
        monkeypatch.setenv("HUB_BASE_URL", base)
        for name, value in settings.items():
            monkeypatch.setenv(name, str(value))
        app = create_app()
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((app, server, thread))
        return LiveHub(app, base)

    yield start
    for app, server, thread in started:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            from hub.db import db

            db.engine.dispose()


@pytest.fixture
def hub(start_hub):
    return start_hub()


class Forms(HTMLParser):
    """The forms on a page: action, method, fields by name, submit buttons."""

    def __init__(self, html):
        super().__init__()
        self.forms: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "action": attrs.get("action") or "",
                    "method": (attrs.get("method") or "get").lower(),
                    "fields": {},
                    "buttons": [],
                }
            )
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            if tag == "button" or attrs.get("type") == "submit":
                self.forms[-1]["buttons"].append((attrs["name"], attrs.get("value", "")))
            else:
                self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""

    def with_field(self, name):
        return next(f for f in self.forms if name in f["fields"] or any(b[0] == name for b in f["buttons"]))


class Browser:
    """An HTTP client with cookies that only ever talks to the hub (and the
    local identity provider): redirects elsewhere are returned, not followed."""

    def __init__(self, hub, allowed=()):
        self.hub = hub
        self.allowed = {urlsplit(hub.base).netloc, *allowed}
        self.http = httpx.Client(follow_redirects=False, timeout=10)

    def go(self, url, method="GET", data=None):
        response = self.http.request(method, url, data=data)
        while response.status_code in (302, 303) and urlsplit(self._next(response)).netloc in self.allowed:
            response = self.http.get(self._next(response))
        return response

    @staticmethod
    def _next(response):
        return urljoin(str(response.url), response.headers["location"])

    def submit(self, page, fill=None, button=None, field="csrf_token"):
        form = Forms(page.text).with_field(button[0] if button else field)
        data = {**form["fields"], **(fill or {})}
        if button:
            data[button[0]] = button[1]
        return self.go(urljoin(str(page.url), form["action"]), form["method"].upper(), data)

    def login(self, username, password):
        page = self.sign_in(self.go(self.hub.url("/login")), username, password)
        assert page.url.path == "/dashboard" and "Signed in as" in page.text, page.text
        return page

    def sign_in(self, page, username, password):
        return self.submit(page, {"username": username, "password": password}, field="username")


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


# Every client uses PKCE unless registered with --no-pkce: the helpers send
# this pair unless a test gives its own (or pkce=False).
PKCE_VERIFIER, PKCE_CHALLENGE = pkce_pair()


def authorize_url(hub, client_id, redirect_uri=ZAPIER_REDIRECT, scope=ZAPIER_SCOPES, state="st4te", pkce=True, **extra):
    if pkce and "code_challenge" not in extra:
        extra.update(code_challenge=PKCE_CHALLENGE, code_challenge_method="S256")
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        **extra,
    }
    return hub.url("/oauth/authorize?" + urlencode(params))


def redirect_params(response) -> dict:
    assert response.status_code in (302, 303), response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def connect(hub, browser, client, username, password, **extra):
    """authorize -> sign in -> consent (allow) -> the redirect back with a code."""
    page = browser.go(authorize_url(hub, client["client_id"], **extra))
    if "password" in page.text:
        page = browser.sign_in(page, username, password)
    if page.status_code == 200 and "decision" in page.text:
        page = browser.submit(page, button=("decision", "allow"))
    return page
