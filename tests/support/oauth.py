"""OAuth as Zapier does it, for tests: PKCE pairs, the authorize URL, the
redirect back, and the whole connect walk through the hub's forms."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

ZAPIER_REDIRECT = "https://zapier.com/dashboard/auth/oauth/return/App123456CLIAPI/"
ZAPIER_SCOPES = "tasks:read tasks:write messages:write codebases:read"


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
