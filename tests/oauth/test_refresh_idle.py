"""Refresh tokens idle out instead of dying at a fixed age: a Zap that runs
less than monthly, or only receives instant triggers, keeps its connection.

Time passes by moving every stored OAuth and subscription timestamp back."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import DateTime, select
from support.forms import Browser
from support.oauth import connect, redirect_params

pytestmark = pytest.mark.usefixtures("webhook_settings")  # hooks may point at this machine

IDLE = timedelta(days=180)  # HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS' default


def time_passes(hub, delta: timedelta) -> None:
    """As if ``delta`` had gone by since everything the hub stored about connections and hooks."""
    from hub.db import db
    from hub.models import OAuthCode, OAuthGrant, OAuthToken, Subscription

    with hub.app.app_context():
        for model in (OAuthToken, OAuthCode, OAuthGrant, Subscription):
            stamps = [c.key for c in model.__table__.columns if isinstance(c.type, DateTime)]
            for row in db.session.scalars(select(model)):
                for name in stamps:
                    if getattr(row, name) is not None:
                        setattr(row, name, getattr(row, name) - delta)
        db.session.commit()


def connected(hub):
    """Alice connects Zapier: the client, her tokens, and an API key of hers."""
    username, password = hub.create_user("alice")
    client = hub.create_client()
    code = redirect_params(connect(hub, Browser(hub), client, username, password))["code"]
    issued = hub.exchange(client, code)
    assert issued.status_code == 200, issued.text
    from hub.services import accounts

    with hub.app.app_context():
        _key, api_key = accounts.create_api_key(username)
    return client, issued.json(), api_key


def refresh(hub, client, tokens):
    return hub.refresh(client, tokens["refresh_token"])


def refreshed(hub, client, tokens) -> dict:
    response = refresh(hub, client, tokens)
    assert response.status_code == 200, response.text
    new = response.json()
    assert hub.api("/api/v1/me", new["access_token"]).status_code == 200
    return new


def refused(response) -> bool:
    """What Zapier reads as "reconnect" (a 401 would make it refresh again)."""
    return response.status_code == 400 and response.json()["error"] == "invalid_grant"


def subscribe(hub, token, receiver, path="/zap"):
    made = hub.api("/api/v1/hooks", token, "POST", json={"event": "task.completed", "target_url": receiver.url(path)})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def test_a_zap_that_runs_every_few_months_keeps_its_connection(hub):
    client, tokens, _ = connected(hub)
    time_passes(hub, timedelta(days=90))  # three times the old 30-day lifetime
    tokens = refreshed(hub, client, tokens)
    # Each refresh starts a new idle period: nearly a year after connecting, it still refreshes.
    time_passes(hub, IDLE - timedelta(minutes=5))
    refreshed(hub, client, tokens)


def test_a_connection_idle_past_the_idle_lifetime_is_invalid_grant(hub):
    client, tokens, _ = connected(hub)
    time_passes(hub, timedelta(days=100))
    tokens = refreshed(hub, client, tokens)
    time_passes(hub, IDLE + timedelta(minutes=5))  # counted from the last refresh
    assert refused(refresh(hub, client, tokens))


def test_rotation_and_reuse_detection_hold_after_a_long_idle(hub):
    client, old, _ = connected(hub)
    time_passes(hub, timedelta(days=120))
    new = refreshed(hub, client, old)
    assert new["refresh_token"] != old["refresh_token"] and new["access_token"] != old["access_token"]
    # The spent refresh token again: refused, and the whole connection ends.
    assert refused(refresh(hub, client, old))
    assert hub.api("/api/v1/me", new["access_token"]).status_code == 401
    assert refused(refresh(hub, client, new))


def test_a_zap_with_an_instant_trigger_keeps_its_connection_while_its_hook_lives(hub, receiver):
    """Zapier calls the hub for a REST-hook Zap only when someone edits it or
    turns it off: the app's live hook is the connection in use."""
    client, tokens, _ = connected(hub)
    subscribe(hub, tokens["access_token"], receiver)
    time_passes(hub, 2 * IDLE)
    refreshed(hub, client, tokens)


def test_a_hook_that_ended_counts_as_use_until_it_ended(hub, receiver):
    client, tokens, api_key = connected(hub)
    hook = subscribe(hub, tokens["access_token"], receiver)
    time_passes(hub, timedelta(days=300))
    assert hub.api(f"/api/v1/hooks/{hook}", api_key, "DELETE").status_code == 200
    time_passes(hub, IDLE - timedelta(days=1))
    assert refused(refresh(hub, client, tokens)) is False
    time_passes(hub, timedelta(days=2))
    assert refused(refresh(hub, client, tokens))


def test_hooks_made_another_way_do_not_keep_a_connection(hub, receiver):
    """The user's own hooks (API key, dashboard) say nothing about the app."""
    client, tokens, api_key = connected(hub)
    subscribe(hub, api_key, receiver, "/mine")
    time_passes(hub, IDLE + timedelta(minutes=5))
    assert refused(refresh(hub, client, tokens))


def test_the_old_setting_name_still_counts_with_a_warning(start_hub, caplog):
    caplog.set_level(logging.WARNING)
    hub = start_hub(HUB_OAUTH_REFRESH_TOKEN_TTL="86400")
    warnings = [r.getMessage() for r in caplog.records if "HUB_OAUTH_REFRESH_TOKEN_TTL" in r.getMessage()]
    assert len(warnings) == 1 and "HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS" in warnings[0], warnings
    client, tokens, _ = connected(hub)
    time_passes(hub, timedelta(hours=23))
    tokens = refreshed(hub, client, tokens)
    time_passes(hub, timedelta(hours=25))
    assert refused(refresh(hub, client, tokens))


@pytest.mark.parametrize(
    ("environment", "seconds"),
    [
        ({}, 180 * 86400),
        ({"HUB_OAUTH_REFRESH_TOKEN_TTL": "3600"}, 3600),
        ({"HUB_OAUTH_REFRESH_TOKEN_TTL": "3600", "HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS": "7200"}, 7200),
    ],
)
def test_the_new_setting_name_wins(monkeypatch, environment, seconds):
    from hub import config

    monkeypatch.delenv("HUB_OAUTH_REFRESH_TOKEN_TTL", raising=False)
    monkeypatch.delenv("HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert config.load()["HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS"] == seconds
