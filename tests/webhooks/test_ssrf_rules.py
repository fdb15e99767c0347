"""The SSRF guard's rules, one by one (hub/webhooks/ssrf.py): the reason a
user reads for each kind of refused address, URLs refused before any lookup,
default ports, the admin's allowlist as written, and which resolved address
the connection goes to. The resolver is stubbed; nothing is sent anywhere."""

import socket

import pytest

from hub.webhooks import ssrf

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    """Names this test gives addresses to resolve as given (in order); IP
    literals parse locally; any other name fails, and no connection is made."""
    names: dict[str, list[str]] = {}
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        if host in names:
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0))
                if ":" in ip
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in names[host]
            ]
        return REAL_GETADDRINFO(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)

    def no_connection(address, *args, **kwargs):
        raise AssertionError(f"tried to connect to {address}")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", no_connection)
    return names, asked


def refused_because(url: str, allow: str = "") -> str:
    with pytest.raises(ssrf.Refused) as refused:
        ssrf.check(url, allow)
    return str(refused.value)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        # Multicast and reserved addresses that Python calls global: refused all the same.
        ("http://224.0.0.1/hook", "224.0.0.1, not a public address"),
        ("http://[ff0e::1]/hook", "ff0e::1, not a public address"),
        ("http://[4000::1]/hook", "4000::1, not a public address"),
        # Teredo: judged by the client address it carries (127.0.0.1 here), not its public server's.
        ("http://[2001:0:5db8:d822::80ff:fffe]/hook", "a loopback address"),
        # NAT64 around 127.0.0.1: the IPv4 is its last 32 bits.
        ("http://[64:ff9b::7f00:1]/hook", "a loopback address"),
        # NAT64 around 169.254.169.255: judged as that address, not as its neighbour the metadata address.
        ("http://[64:ff9b::a9fe:a9ff]/hook", "a link-local address"),
    ],
)
def test_each_refused_address_names_its_reason(dns, url, why):
    assert why in refused_because(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://user@hooks.example.com/hook", "must not contain credentials"),
        ("https://:secret@hooks.example.com/hook", "must not contain credentials"),
        ("https://hooks.example.com:99999/hook", "is not a valid URL"),
        ("https://hooks.example.com:http/hook", "is not a valid URL"),
    ],
)
def test_bad_urls_are_refused_before_any_lookup(dns, url, why):
    _, asked = dns
    assert why in refused_because(url)
    assert asked == []


def test_default_ports_are_left_out_of_a_shown_url():
    assert ssrf.shown("https://hooks.example.com/secret/path") == "https://hooks.example.com/…"
    assert ssrf.shown("http://hooks.example.com/secret/path") == "http://hooks.example.com/…"
    assert ssrf.shown("https://hooks.example.com:8443/secret") == "https://hooks.example.com:8443/…"
    assert ssrf.shown("http://hooks.example.com:443/secret") == "http://hooks.example.com:443/…"
    assert ssrf.parse("https://hooks.example.com/x") == ("https", "hooks.example.com", 443)
    assert ssrf.parse("http://hooks.example.com/x") == ("http", "hooks.example.com", 80)


def test_an_allowlist_entry_may_be_written_with_host_bits_set():
    """An admin writing HUB_WEBHOOK_ALLOW_NETWORKS=127.0.0.1/8 means 127.0.0.0/8."""
    assert ssrf.check("http://127.5.6.7:9/x", "127.0.0.1/8, 10.1.2.3/16").address == "127.5.6.7"
    assert ssrf.check("http://10.1.200.1:9/x", "127.0.0.1/8, 10.1.2.3/16").address == "10.1.200.1"
    assert "private" in refused_because("http://10.2.0.1:9/x", "127.0.0.1/8, 10.1.2.3/16")


def test_the_connection_goes_to_the_first_address_without_its_scope(dns):
    names, _ = dns
    names["two.example"] = ["93.184.216.34", "93.184.216.35"]
    assert ssrf.check("https://two.example/x").address == "93.184.216.34"
    names["scoped.example"] = ["2606:4700::1111%eth0"]
    assert ssrf.check("https://scoped.example/x").address == "2606:4700::1111"
    names["local.example"] = ["fe80::1%eth0"]
    assert "a link-local address" in refused_because("https://local.example/x")
