"""The HTTP side of delivery: pooled keep-alive clients per worker process
(one per host name), and the SSRF check right before each send. The lanes
(hub/webhooks/lanes.py) decide when each send goes."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import httpx

from hub.webhooks import ssrf
from hub.webhooks.retry import parse_retry_after

USER_AGENT = "CodeTether-Hub-Webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024
MAX_CLIENTS = 256


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: float
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


@dataclass(frozen=True)
class Post:
    url: str
    body: bytes
    headers: dict


class Sender:
    def __init__(self, timeout: float, allow_networks: str, connections: int = 64):
        self.timeout = timeout
        self.allow_networks = allow_networks
        # As many connections to one host as sends can be in flight, so a hung
        # endpoint's sends never leave another endpoint on that host waiting
        # for a connection.
        self.connections = max(1, connections)
        self.clients: OrderedDict[str, httpx.Client] = OrderedDict()
        self.lock = threading.Lock()

    def _check(self, url: str, checked: dict):
        try:
            scheme, host, port = ssrf.parse(url)
        except ssrf.Refused as refused:
            return refused
        key = (scheme, host, port)
        if key not in checked:
            try:
                checked[key] = ssrf.check(url, self.allow_networks)
            except ssrf.Refused as refused:
                checked[key] = refused
        return checked[key]

    def send(self, post: Post, checked: dict | None = None) -> Outcome:
        """POST once. ``checked`` carries SSRF answers between sends (a
        fan-out sends many posts to one host within milliseconds)."""
        start = time.perf_counter()
        target = self._check(post.url, {} if checked is None else checked)
        if isinstance(target, ssrf.Refused):
            return Outcome(None, 0.0, f"Refused before connecting: the target {target}.")
        url = httpx.URL(post.url)
        # Connect to the checked address; Host and TLS name stay the URL's.
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        headers = {**post.headers, "host": url.netloc.decode("ascii")}
        try:
            with self._client(target.host).stream(
                "POST", url.copy_with(host=target.address), content=post.body, headers=headers, extensions=extensions
            ) as response:
                latency = (time.perf_counter() - start) * 1000
                _drain(response)
        except httpx.TimeoutException as error:
            return Outcome(
                None,
                (time.perf_counter() - start) * 1000,
                f"Timed out ({type(error).__name__}) after {self.timeout:g} s.",
            )
        except httpx.HTTPError as error:
            return Outcome(None, (time.perf_counter() - start) * 1000, f"{type(error).__name__}: {error}")
        return Outcome(
            response.status_code, latency, _describe(response), parse_retry_after(response.headers.get("retry-after"))
        )

    def _client(self, host: str) -> httpx.Client:
        """A keep-alive client per host name: connections are pooled by the
        address they reach, and a TLS connection made for one name must not
        carry another name's requests."""
        with self.lock:
            client = self.clients.get(host)
            if client is not None:
                self.clients.move_to_end(host)
                return client
            # trust_env=False: a proxy from the environment would connect
            # to an address we did not check.
            client = self.clients[host] = httpx.Client(
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=self.connections, max_keepalive_connections=self.connections),
                headers={"user-agent": USER_AGENT, "content-type": "application/json"},
            )
            if len(self.clients) > MAX_CLIENTS:
                _host, oldest = self.clients.popitem(last=False)
                oldest.close()
            return client

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def _drain(response: httpx.Response) -> None:
    """Read a bounded body so the connection can be reused."""
    seen = 0
    for chunk in response.iter_raw():
        seen += len(chunk)
        if seen > MAX_RESPONSE_BYTES:
            break


def _describe(response: httpx.Response) -> str | None:
    code = response.status_code
    if 200 <= code < 300:
        return None
    if 300 <= code < 400:
        return f"HTTP {code}: redirect to {response.headers.get('location', '?')} not followed."
    if code == 410:
        return "HTTP 410 Gone: the receiver removed this hook; subscription deleted."
    return f"HTTP {code}."


_SENDERS: dict[tuple, Sender] = {}


def for_config(config, connections: int = 64) -> Sender:
    """This process's sender for these settings (one per app config)."""
    key = (config["HUB_WEBHOOK_TIMEOUT"], config["HUB_WEBHOOK_ALLOW_NETWORKS"], connections)
    sender = _SENDERS.get(key)
    if sender is None:
        sender = _SENDERS[key] = Sender(*key)
    return sender
