"""The security headers in a real browser (headless Chromium): every page
still works under the Content-Security-Policy, and a hostile page on another
origin cannot frame the OAuth consent page to have a signed-in person click
Allow (clickjacking)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from browser import chromium, page, sign_in  # noqa: F401  (fixtures)
from conftest import free_port, wait_for
from oauth_live_hub import authorize_url, hub, pkce_pair, start_hub  # noqa: F401  (fixtures)
from playwright.sync_api import expect

PASSWORD = "correct horse battery"


def refusals(page):
    """Console messages of the browser refusing something under the CSP."""
    messages = []
    page.on(
        "console",
        lambda message: (
            messages.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return messages


def test_every_page_works_under_the_content_security_policy(hub, page):
    hub.create_user("root", password=PASSWORD, is_admin=True)
    key = hub.cli("api-keys", "create", "root", "--json")["key"]
    task = hub.api("/api/v1/tasks", key, "POST", json={"title": "Fix the build", "prompt": "Make CI green"}).json()
    refused = refusals(page)
    page.goto(hub.url("/login"))
    expect(page.locator("#username")).to_be_visible()
    # The stylesheet applies (a CSP refusal would leave the page unstyled).
    assert (
        page.locator("button[type=submit]").evaluate("b => getComputedStyle(b).backgroundColor") != "rgba(0, 0, 0, 0)"
    )
    sign_in(page, hub, "root", PASSWORD)
    for path, visible in [
        ("/dashboard", "#api-keys"),
        ("/admin/", "#workers"),
        (f"/tasks/{task['id']}", "#task-status"),
        ("/help/workers", "h1"),
    ]:
        page.goto(hub.url(path))
        expect(page.locator(visible)).to_be_visible()
    page.goto(hub.url("/docs"))  # Swagger UI: its start-up script is a file now, not inline
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CodeTether Hub")
    page.shot("docs")
    assert refused == []


@pytest.fixture
def hostile_site():
    """A page on another origin (another loopback port) that frames a URL."""
    framed = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = (
                f'<!doctype html><h1>Win a prize</h1><iframe id="bait" src="{framed["url"]}" '
                'width="600" height="600"></iframe>'
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def frame(url):
        framed["url"] = url
        return f"http://127.0.0.1:{server.server_port}/"

    yield frame
    server.shutdown()


def test_a_hostile_page_cannot_frame_the_consent_page(hub, page, hostile_site):
    hub.create_user("alice", password=PASSWORD)
    client = hub.create_client()
    _verifier, challenge = pkce_pair()
    consent = authorize_url(hub, client["client_id"], code_challenge=challenge, code_challenge_method="S256")
    sign_in(page, hub, "alice", PASSWORD)
    page.goto(consent)  # the consent page itself works
    expect(page.locator("button[value=allow]")).to_be_visible()
    refused = refusals(page)
    page.goto(hostile_site(consent))
    expect(page.locator("h1")).to_have_text("Win a prize")
    allow = page.frame_locator("#bait").locator("button[value=allow]")
    # Either the browser refuses the frame (and says so), or the consent form shows in it.
    wait_for(lambda: refused or allow.count(), 15, interval=0.1, message="the frame to load or be refused")
    page.shot("framing-refused")
    assert allow.count() == 0 and any("frame-ancestors" in message for message in refused), refused
