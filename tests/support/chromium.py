"""Real headless Chromium (Debian's, never a downloaded build) driven by
Playwright, against a hub on loopback. Screenshots go to test-artifacts/.
The fixtures (``chromium``, ``page``) are in tests/web/conftest.py."""

from __future__ import annotations

from support import repo_root

CHROMIUM = "/usr/bin/chromium"
# Headless, and nothing that reaches for the network on its own: the
# machine has loopback only.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = repo_root() / "test-artifacts"


def browser_sign_in(page, hub, username, password):
    """Sign in on the hub's form in the browser tab ``page``."""
    page.goto(hub.url("/login"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
