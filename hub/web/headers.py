"""Security headers, set by one after-request hook rather than a library:
flask-talisman would run on every API call too, and its HTTPS redirect and
HSTS would need turning off behind the hub's own proxy setup; it has no
Cache-Control either. The values here are fixed strings.

Every response: ``X-Content-Type-Options: nosniff`` and a Referrer-Policy
(``no-referrer`` under /oauth/, where URLs carry codes and state, and under
/share/ and /invitations/, whose URLs are a link's token; ``same-origin``
elsewhere).
Every HTML page also: a CSP that allows only the hub's own scripts, styles
and images and no framing (clickjacking of the consent page),
``X-Frame-Options: DENY`` for older browsers, and ``Cache-Control:
no-store`` (pages show a person's data, new API keys, client secrets and
consent forms: nothing for a shared cache or the browser's history to keep).
"""

from __future__ import annotations

from flask import Flask, Response, request

# No form-action: the consent form's answer is a redirect to the app's own
# redirect URI on another host, which form-action would block.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

SECRET_URLS = ("/oauth/", "/share/", "/invitations/")  # paths whose URLs carry a secret: never sent on as a Referer


def init_app(app: Flask) -> None:
    app.after_request(_secure)


def _secure(response: Response) -> Response:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer" if request.path.startswith(SECRET_URLS) else "same-origin"
    if response.mimetype == "text/html":
        headers["Content-Security-Policy"] = CSP
        headers["X-Frame-Options"] = "DENY"
        headers["Cache-Control"] = "no-store"
    return response
