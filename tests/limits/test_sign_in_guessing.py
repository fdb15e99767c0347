"""Guessing passwords at /login is slowed per account, from any number of
addresses, without letting an attacker lock the owner out."""

import re

import httpx
import pytest
from support.parallel import parallel

# The SQLite pass is enough: the limits are counted and decided in Redis; the
# database only holds the users and their credentials here.
pytestmark = pytest.mark.sqlite_only


def from_address(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_refused(response, window):
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.json["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= window
    return response.json["message"]


PASSWORD = "a long passphrase here"


@pytest.fixture
def few_sign_ins(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_LOGIN_ACCOUNT_RATE_LIMIT", "3/15minute")
    monkeypatch.setenv("HUB_LOGIN_RATE_LIMIT", "100/minute")  # the per-address limit out of the way


@pytest.fixture
def owner(app):
    from hub.services import accounts

    with app.app_context():
        accounts.create_user("olga", password=PASSWORD)
        accounts.create_user("bob", password=PASSWORD)
    return "olga"


def close_session(client):
    """As if the browser signed out: its session goes, its other cookies stay."""
    client.delete_cookie(client.application.config["SESSION_COOKIE_NAME"])


def sign_in(client, username, password):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_wrong_passwords_slow_the_account_from_any_address_but_not_its_owners_browser(few_sign_ins, app, owner):
    browser = from_address(app, "192.0.2.10")
    # The owner's own browser signs in (one attempt from a browser new to the account).
    assert sign_in(browser, owner, PASSWORD).status_code == 302
    close_session(browser)

    # An attacker spreads guesses over addresses: the account counts them all.
    guesses = [sign_in(from_address(app, f"10.0.1.{n}"), owner, f"guess number {n}") for n in range(2)]
    assert [r.status_code for r in guesses] == [401, 401]
    fresh = from_address(app, "10.0.1.99")
    message = assert_refused(sign_in(fresh, owner, PASSWORD), 900)  # the right password waits too
    assert "this account" in message
    assert int(sign_in(fresh, owner, PASSWORD).headers["Retry-After"]) > 60  # the 15-minute window
    assert sign_in(fresh, "bob", PASSWORD).status_code == 302  # other accounts are not affected

    # The owner's browser still signs in: the attacker cannot lock its owner out.
    assert sign_in(browser, owner, PASSWORD).status_code == 302
    # That browser's own wrong passwords are limited on their own count.
    close_session(browser)
    statuses = [sign_in(browser, owner, "not it at all").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_a_forged_or_other_accounts_known_device_cookie_does_not_help(few_sign_ins, app, owner):
    bobs_browser = from_address(app, "192.0.2.11")
    assert sign_in(bobs_browser, "bob", PASSWORD).status_code == 302  # known to bob, not to olga
    close_session(bobs_browser)
    statuses = [sign_in(bobs_browser, owner, "guess").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    assert sign_in(from_address(app, "10.0.2.2"), owner, PASSWORD).status_code == 429  # they were the account's
    forger = from_address(app, "10.0.2.1")
    forger.set_cookie("hub_known_device", "eyJ1Ijoib2xnYSIsImQiOiJ4In0.forged.signature", path="/login")
    assert sign_in(forger, owner, PASSWORD).status_code == 429


def test_parallel_guesses_cannot_slip_past_the_account_limit(few_sign_ins, app, owner, live_url):
    with httpx.Client(base_url=live_url, timeout=30) as http:
        page = http.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        cookies = dict(http.cookies)

    def guess(i):
        return httpx.post(
            live_url + "/login",
            cookies=cookies,
            timeout=60,
            data={"username": owner, "password": f"parallel guess {i}", "csrf_token": token},
        ).status_code

    statuses = parallel(12, guess)
    assert statuses.count(401) == 3 and statuses.count(429) == 9, statuses
