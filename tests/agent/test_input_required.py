"""An agent asks the user a question, end to end with real processes: the
reference agent worker runs an agent that asks, the hub's task.input_required
webhook reaches a receiver (the task's own callback does not fire: the task
has not ended), the owner replies over the REST API, and the same task
completes with the reply in its context; another user cannot reply, and a
waiting task can be cancelled. The openai backend asks through its ask_user
tool, against a small local chat-completions server."""

import json
import threading

import pytest
from standardwebhooks import Webhook
from support.agents import asking_agent
from support.live_hub import Caller
from werkzeug.wrappers import Request, Response

pytestmark = [
    pytest.mark.sqlite_only,  # the SQLite pass is enough: tests/workers/test_questions.py covers the database
    pytest.mark.usefixtures("webhook_settings"),
]


def test_the_agent_asks_the_owner_replies_and_the_same_task_completes(
    app, live_hub, caller, worker_token, receiver, delivery_worker, tmp_path
):
    from hub.services import accounts

    hook = caller.http.post("/hooks", json={"event": "task.input_required", "target_url": receiver.url("/hook")})
    assert hook.status_code == 201, hook.text
    live_hub.agent_worker(worker_token, "--backend", "command", "--command", asking_agent(tmp_path))
    task = caller.create_task(title="Deploy", prompt="Deploy the app", callback_url=receiver.url("/callback"))

    [captured] = receiver.wait_for(1, "/hook", timeout=120)
    payload = Webhook(hook.json()["secret"]).verify(captured.body, captured.headers)
    assert payload["type"] == "task.input_required"
    data = payload["data"]
    assert (data["task_id"], data["status"]) == (task["id"], "input_required")
    assert data["question"] == "Which branch should I deploy?" and data["conversation_id"]
    assert caller.task(task["id"])["status"] == "input_required"

    with app.app_context():
        accounts.create_user("mallory", tier="enterprise")
        mallory = Caller(live_hub.base, accounts.create_api_key("mallory")[1])
    assert mallory.http.post(f"/tasks/{task['id']}/messages", json={"message": "prod"}).status_code == 404

    reply = caller.http.post(f"/tasks/{task['id']}/messages", json={"message": "release-2"})
    assert reply.status_code == 201, reply.text
    done = caller.wait_status(task["id"], "completed", "failed", timeout=120)
    assert done["status"] == "completed" and done["result"].strip() == "Deployed release-2"
    # The callback fired once, on the end: the finished task, never the question.
    [called] = receiver.wait_for(1, "/callback", timeout=120)
    assert called.json()["type"] == "task.completed" and called.json()["data"]["status"] == "completed"
    messages = caller.http.get(f"/conversations/{done['conversation_id']}/messages").json()
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]

    waiting = caller.create_task(title="Deploy again", prompt="Deploy the app")
    caller.wait_status(waiting["id"], "input_required", timeout=120)
    cancelled = caller.http.post(f"/tasks/{waiting['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    late = caller.http.post(f"/tasks/{waiting['id']}/messages", json={"message": "main"})
    assert late.status_code == 409 and caller.task(waiting["id"])["status"] == "cancelled"


def asking_model(requests: list):
    """A chat-completions endpoint whose model calls ask_user until the conversation holds an answer."""

    @Request.application
    def answer(request: Request) -> Response:
        body = request.get_json()
        requests.append(body)
        if len(body["messages"]) == 1:
            arguments = json.dumps({"question": "Which branch?"})
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "ask_user", "arguments": arguments}}
                ],
            }
        else:
            message = {"role": "assistant", "content": "Deployed " + body["messages"][-1]["content"]}
        completion = {"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "message": message}]}
        return Response(json.dumps(completion), 200, {"Content-Type": "application/json"})

    return answer


def test_the_openai_backend_asks_through_its_ask_user_tool_when_allowed(serve):
    from hub.agent.backends.openai import OpenAIBackend

    requests: list = []
    url = serve(asking_model(requests)).url("/v1")
    task = {"id": "task_1", "prompt": "Deploy the app", "model": "m"}
    asked = OpenAIBackend(url, ask=True).run(task, lambda text: None, threading.Event())
    assert (asked.asks, asked.text) == (True, "Which branch?")
    assert requests[-1]["tools"][0]["function"]["name"] == "ask_user"
    conversation = [
        {"role": "user", "content": "Deploy the app"},
        {"role": "assistant", "content": "Which branch?"},
        {"role": "user", "content": "main"},
    ]
    done = OpenAIBackend(url, ask=True).run({**task, "messages": conversation}, lambda text: None, threading.Event())
    assert (done.ok, done.asks, done.text) == (True, False, "Deployed main")
    # Without ask (the default) no tool is offered.
    OpenAIBackend(url).run({**task, "messages": conversation}, lambda text: None, threading.Event())
    assert "tools" not in requests[-1]
