"""Fixtures for the web pages: signing in on the test client, a real
headless browser, an OpenID Connect provider for SSO."""

import re

import pytest
from support.chromium import ARTIFACTS, CHROMIUM, FLAGS
from support.oidc_provider import OidcProvider, node_ready, start_provider

from hub.db import db


@pytest.fixture
def sign_in(app, client):
    """Sign ``username`` in on the test client with the hub's own sign_in
    (the sign-in form itself is tested in test_sign_in.py and in the browser
    tests)."""
    from flask import session as signed

    from hub.models import User
    from hub.web import session as web_session

    def sign_in(username):
        with app.test_request_context():
            web_session.sign_in(db.session.scalar(db.select(User).where(User.username == username)))
            values = dict(signed)
        with client.session_transaction() as session:
            session.update(values)  # keeps the CSRF token: tests switch users on one client
            session.permanent = True
        return client

    return sign_in


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """The run's one browser, with a fresh, empty profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 390, "height": 844},  # a phone's screen
        )
        yield context
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


@pytest.fixture
def oidc_provider(tmp_path):
    """``oidc_provider(hub_base, **options)`` runs a provider whose hub client
    redirects to that hub's /login/sso/callback."""
    if not node_ready():
        pytest.fail("node and tests/oidc/node_modules are needed: run scripts/test (it runs npm ci)")
    started: list[OidcProvider] = []

    def start(hub_base: str, **options) -> OidcProvider:
        provider = start_provider(tmp_path, hub_base, **options)
        started.append(provider)
        return provider

    yield start
    for provider in started:
        provider.stop()
