"""A "browser" without a browser: an HTTP client with cookies that walks the
hub's HTML forms, as a person would."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from support import DEADLINE_SCALE


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
            elif attrs.get("type") in ("radio", "checkbox") and "checked" not in attrs:
                pass  # as in a browser, only a checked one is sent
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
        self.http = httpx.Client(follow_redirects=False, timeout=10 * DEADLINE_SCALE)  # a bound, as wait_for's

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
