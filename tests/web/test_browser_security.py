"""The security headers in a real browser (headless Chromium): every page
still works under the Content-Security-Policy, and a hostile page on another
origin cannot frame the OAuth consent page to have a signed-in person click
Allow (clickjacking)."""

import pytest
from playwright.sync_api import expect
from support import wait_for
from support.chromium import browser_sign_in
from support.oauth import authorize_url, pkce_pair
from werkzeug.wrappers import Request, Response

# The SQLite pass is enough: a browser asks nothing more of the database.
pytestmark = pytest.mark.sqlite_only

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
    browser_sign_in(page, hub, "root", PASSWORD)
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
def hostile_site(serve):
    """A page on another origin (another loopback port) that frames a URL."""
    framed = {}

    @Request.application
    def prize(request: Request) -> Response:
        html = f'<!doctype html><h1>Win a prize</h1><iframe id="bait" src="{framed["url"]}" width="600" height="600">'
        return Response(html + "</iframe>", content_type="text/html")

    site = serve(prize)

    def frame(url):
        framed["url"] = url
        return site.url("/")

    return frame


def test_a_hostile_page_cannot_frame_the_consent_page(hub, page, hostile_site):
    hub.create_user("alice", password=PASSWORD)
    client = hub.create_client()
    _verifier, challenge = pkce_pair()
    consent = authorize_url(hub, client["client_id"], code_challenge=challenge, code_challenge_method="S256")
    browser_sign_in(page, hub, "alice", PASSWORD)
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
