"""SSRF guard: webhooks go to public addresses only, checked when a hook is
subscribed and again on every send, and the connection goes to the address
that was checked (a name cannot resolve differently a moment later).

A target is refused if ANY address its host resolves to is loopback,
private, link-local, carrier-grade NAT, cloud metadata or otherwise not
global; IPv4 embedded in IPv6 (mapped, 6to4, NAT64, Teredo) is judged as the
IPv4 it carries. ``HUB_WEBHOOK_ALLOW_NETWORKS`` lets chosen networks through
(development and tests: ``127.0.0.0/8``).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """The target may not be reached; the message says why (no secrets)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (name or literal), for Host and TLS
    port: int
    address: str  # the checked address to connect to


@lru_cache(maxsize=32)
def allowed_networks(spec: str) -> tuple:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be reached, or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = refusal(inner)
            if reason or ip.ipv4_mapped:
                return reason
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "a carrier-grade NAT address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return "not a public address"
    return None


def _allowed(ip: IPAddress, allow: tuple) -> bool:
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        candidates.append(ip.ipv4_mapped)
    return any(c.version == net.version and c in net for c in candidates for net in allow)


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or Refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Refused(f"is not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("must start with https:// (or http://)")
    if not parts.hostname:
        raise Refused("has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("must not contain credentials; put a token in the path or query instead")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def shown(url: str) -> str:
    """``url`` cut to its scheme, host and port, for a URL that is a secret
    (a per-task callback's): ``https://hooks.example.com/…``."""
    scheme, host, port = parse(url)
    default = 443 if scheme == "https" else 80
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}{'' if port == default else f':{port}'}/…"


def check(url: str, allow_spec: str = "") -> Target:
    """Resolve the URL's host and check every address; return the target to
    connect to, or raise Refused before any connection is made."""
    scheme, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Refused(f"host '{host}' cannot be resolved ({error})") from None
    allow = allowed_networks(allow_spec)
    addresses = []
    for info in infos:
        # An AF_INET(6) address: (host, port, ...); typeshed also allows AF_PACKET's (int, bytes).
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = None if _allowed(ip, allow) else refusal(ip)
        if reason:
            raise Refused(
                f"host '{host}' resolves to {ip}, {reason} (the hub's admin can let chosen "
                "networks through with HUB_WEBHOOK_ALLOW_NETWORKS)"
            )
        addresses.append(str(ip))
    if not addresses:
        raise Refused(f"host '{host}' has no address")
    return Target(scheme, host, port, addresses[0])
