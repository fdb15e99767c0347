"""Real headless Chromium (Debian's, never a downloaded build) driven by
Playwright, against a hub on loopback. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
from conftest import repo_root

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


# The run's one browser. Each test module that imports the fixture gets a
# session fixture of its own, and Playwright's sync API runs once a process.
_running = []


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    if _running:
        yield _running[0]
        return
    with sync_playwright() as playwright:
        # A fresh, empty profile for the run.
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 390, "height": 844},
        )  # a phone's screen
        _running.append(context)
        yield context
        _running.clear()
        context.close()


@pytest.fixture
def page(chromium, request):
    """A tab with no cookies from earlier tests; screenshots named after the test."""
    chromium.clear_cookies()
    tab = chromium.new_page()
    tab.set_default_timeout(15000)
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"\W+", "-", request.node.name).strip("-")
    shots = iter(range(1, 100))
    tab.shot = lambda label: tab.screenshot(
        path=str(ARTIFACTS / f"{name}-{next(shots):02d}-{label}.png"), full_page=True
    )
    yield tab
    tab.close()


def sign_in(page, hub, username, password):
    page.goto(hub.url("/login"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
