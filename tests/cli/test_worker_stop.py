"""`codetether-hub delivery-worker` stops promptly on SIGTERM even while a webhook
receiver hangs: the send is cut, its delivery goes back to the queue (due
now, the attempt logged), and the next worker sends it again."""

import signal
import threading
import time

import pytest
from support.delivery import subscribe, wait_delivery
from support.receiver import Answer

pytestmark = pytest.mark.usefixtures("webhook_settings")

# A receiver gets 30 s to answer: a stop must not wait for that.
PATIENT = {"HUB_WEBHOOK_TIMEOUT": "30"}


def test_a_stopping_worker_cuts_a_hung_send_and_hands_its_delivery_back(alice, receiver, start_delivery_worker):
    hang = threading.Event()
    receiver.plan("/slow", Answer(hold=hang))
    hook = subscribe(alice, receiver, path="/slow")
    worker = start_delivery_worker(**PATIENT)
    task = alice.create_task(title="held")
    receiver.wait_for(1, "/slow")

    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(15) == 0
    stopped = time.monotonic() - started
    print(f"\nworker stop with a send hung: {stopped:.1f} s")
    assert stopped < 5, "\n".join(worker.lines())
    assert any("cut 1 send(s) in flight" in line for line in worker.lines())
    back = wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "retrying", timeout=1)[0]
    assert "the hub was stopping" in back["attempt_log"][0]["error"]

    hang.set()
    start_delivery_worker(**PATIENT)
    wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "delivered", timeout=30)
    sent = receiver.received("/slow")
    assert len(sent) == 2 and sent[0].headers["webhook-id"] == sent[1].headers["webhook-id"]
    assert sent[1].json()["data"]["task_id"] == task["task_id"]
