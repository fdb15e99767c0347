"""SSRF: targets that are (or resolve to) non-public addresses are refused
at subscribe time and at send time, before any connection. The resolver is
stubbed; nothing leaves 127.0.0.1."""

import ipaddress
import socket

import pytest
from support.delivery import subscribe, wait_delivery

from hub.webhooks import ssrf
from hub.webhooks.sender import Post, Sender

# The guard refuses before any write or connection; sending on PostgreSQL is the delivery tests': nothing for
# the PostgreSQL pass.
pytestmark = pytest.mark.sqlite_only

REAL_GETADDRINFO = socket.getaddrinfo

# Names the stubbed resolver knows; anything else must be an IP literal.
DNS = {
    "internal.example": ["10.0.0.5"],
    "metadata.google.internal": ["169.254.169.254"],
    "mixed.example": ["93.184.216.34", "192.168.1.10"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "public.example": ["93.184.216.34"],
    "rebind.example": ["93.184.216.34"],
}


def fake_getaddrinfo(host, port, *args, **kwargs):
    if host in DNS:
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port) if ":" not in ip else (ip, port, 0, 0),
            )
            for ip in DNS[host]
        ]
    # IP literals (and decimal/hex forms) are parsed locally; names fail.
    return REAL_GETADDRINFO(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)


@pytest.fixture
def resolver(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    connections = []

    def no_connection(address, *args, **kwargs):
        connections.append(address)
        raise AssertionError(f"tried to connect to {address}")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    return connections


REFUSED = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.8.9.10:8080/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one number
    ("http://0x7f.1/hook", "loopback"),
    ("http://localhost.localdomain.invalid/hook", "cannot be resolved"),
    ("http://10.1.2.3/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://192.168.0.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "metadata"),
    ("http://169.254.10.10/hook", "link-local"),
    ("http://100.64.0.1/hook", "carrier-grade NAT"),
    ("http://0.0.0.0/hook", "0.0.0.0"),
    ("http://[::1]/hook", "loopback"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fc00::1]/hook", "private"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://[::ffff:169.254.169.254]/hook", "metadata"),
    ("http://[::ffff:10.0.0.1]/hook", "private"),
    ("http://[2002:7f00:1::1]/hook", "loopback"),  # 6to4 around 127.0.0.1
    ("http://[64:ff9b::a00:1]/hook", "private"),  # NAT64 around 10.0.0.1
    ("http://[fd00:ec2::254]/hook", "metadata"),
    ("https://internal.example/hook", "10.0.0.5"),
    ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("https://mixed.example/hook", "192.168.1.10"),
    ("https://mapped.example/hook", "loopback"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_refused_at_subscribe_time(alice, resolver, monkeypatch, url, why):
    monkeypatch.setenv("HUB_WEBHOOK_ALLOW_NETWORKS", "")
    alice.client.application.config["HUB_WEBHOOK_ALLOW_NETWORKS"] = ""
    response = alice.post("/api/v1/hooks", json={"event": "task.created", "target_url": url})
    assert response.status_code == 422, response.json
    assert why in response.json["errors"]["target_url"][0]
    assert resolver == []


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_refused_at_send_time_before_connecting(resolver, url, why):
    outcome = Sender(timeout=1, allow_networks="").send(Post(url, b"{}", {}))
    assert outcome.status_code is None and why in outcome.error
    assert resolver == []


def test_public_names_pass_and_connect_to_the_checked_address(resolver):
    target = ssrf.check("https://public.example:8443/x")
    assert (target.host, target.port, target.address) == ("public.example", 8443, "93.184.216.34")


def test_a_name_that_rebinds_after_subscribing_is_refused_at_send_time(alice, resolver, monkeypatch):
    alice.client.application.config["HUB_WEBHOOK_ALLOW_NETWORKS"] = ""
    created = alice.post("/api/v1/hooks", json={"event": "task.created", "target_url": "https://rebind.example/h"})
    assert created.status_code == 201
    monkeypatch.setitem(DNS, "rebind.example", ["127.0.0.1"])
    outcome = Sender(timeout=1, allow_networks="").send(Post("https://rebind.example/h", b"{}", {}))
    assert "loopback" in outcome.error and resolver == []


def test_the_allowlist_lets_chosen_networks_through(resolver):
    assert ssrf.check("http://127.0.0.1:9/x", "127.0.0.0/8").address == "127.0.0.1"
    mapped = ssrf.check("http://[::ffff:127.0.0.1]:9/x", "127.0.0.0/8").address
    assert ipaddress.ip_address(mapped).ipv4_mapped == ipaddress.ip_address("127.0.0.1")
    with pytest.raises(ssrf.Refused):
        ssrf.check("http://10.0.0.1/x", "127.0.0.0/8")


def test_the_workers_sender_checks_a_name_again_on_every_batch(app, alice, receiver, monkeypatch):
    """The sender a worker keeps for its life (``sender.for_config``) resolves
    and checks a name anew for each batch, on the real sending path
    (``dispatch_pending``, as the RQ job runs it): a name that rebinds to a
    private address between two batches is refused on the second, before
    any connection."""
    from hub.webhooks.delivery import dispatch_pending

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setitem(DNS, "rebind.example", ["127.0.0.1"])  # allowed here: HUB_WEBHOOK_ALLOW_NETWORKS
    hook = subscribe(alice, receiver, target_url=f"http://rebind.example:{receiver.port}/h")
    alice.create_task(title="first")
    with app.app_context():
        dispatch_pending()  # hands the attempt to this process's lanes, which send it
    receiver.wait_for(1, "/h")
    wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "delivered")

    monkeypatch.setitem(DNS, "rebind.example", ["10.0.0.5"])
    alice.create_task(title="second")
    with app.app_context():
        dispatch_pending()
    [latest, _first] = wait_delivery(alice, hook["id"], lambda d: len(d) == 2 and d[0]["attempt_log"])
    assert len(receiver.received("/h")) == 1  # nothing reached the old address
    assert latest["status"] == "retrying" and latest["attempt_log"][0]["status_code"] is None
    assert "resolves to 10.0.0.5, a private address" in latest["attempt_log"][0]["error"]
