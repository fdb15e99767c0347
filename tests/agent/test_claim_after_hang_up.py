"""A claim whose worker hung up before the hub first looked for a task (the
worker killed while its request waited for a web thread, as when `up`'s agent
worker is killed right after it asked again) takes no task: the task goes to
a live worker at once, not after HUB_WORKER_LEASE_SECONDS in a dead lease.
(A worker killed while its claim waits: tests/agent/test_dead_claim.py.)"""

import json
import socket

import httpx
from support import wait_for


def test_a_claim_whose_worker_hung_up_before_the_first_look_takes_no_task(live_hub, caller, worker_token):
    api = httpx.Client(
        base_url=live_hub.url("/api/v1/worker"), headers={"Authorization": f"Bearer {worker_token}"}, timeout=30
    )
    dead = api.post("/register", json={"name": "dead"}).json()["worker_id"]
    live = api.post("/register", json={"name": "live"}).json()["worker_id"]
    task = caller.create_task(title="for a live worker")

    # The dead worker's claim: sent whole, and the connection closed before
    # the hub reads it, as the kernel closes a killed process's connections.
    body = json.dumps({"wait": 0}).encode()
    path = f"/api/v1/worker/{dead}/claim"
    host, port = live_hub.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        # Corked, the request and the FIN that shutdown queues behind it leave in one
        # segment: the hub cannot read the claim before the hang-up has arrived.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {worker_token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        sock.shutdown(socket.SHUT_WR)
    wait_for(lambda: path in live_hub.server.output(), timeout=30, message="the hub to answer the dead claim")

    claimed = api.post(f"/{live}/claim", json={"wait": 0}).json()["task"]
    assert claimed is not None and claimed["id"] == task["id"], caller.task(task["id"])
