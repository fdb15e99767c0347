"""The openai backend against a small local server that speaks the
chat-completions format (the one outside service the tests cannot reach)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from live_hub import caller, live_hub, worker_token  # noqa: F401  (fixtures)


class ChatCompletions(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        last = body["messages"][-1]["content"]
        if "refuse" in last:
            self._answer(429, {"error": {"message": "rate limited", "type": "requests"}})
            return
        self._answer(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": f"[{body['model']}] you said: {last}"},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def llm():
    ChatCompletions.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatCompletions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", ChatCompletions.requests
    server.shutdown()
    server.server_close()


def test_openai_backend_completes_tasks_and_answers_conversations(live_hub, caller, worker_token, llm):
    base_url, requests = llm
    live_hub.agent_worker(
        worker_token,
        "--backend",
        "openai",
        "--openai-base-url",
        base_url,
        env={"HUB_OPENAI_API_KEY": "sk-test", "HUB_OPENAI_MODEL": "small-model"},
    )
    # A task naming its model; one using the worker's default.
    named = caller.create_task(prompt="Summarise the repo", model="big-model")
    assert (
        caller.wait_status(named["id"], "completed", "failed")["result"] == "[big-model] you said: Summarise the repo"
    )
    plain = caller.create_task(prompt="Hello")
    assert caller.wait_status(plain["id"], "completed", "failed")["result"] == "[small-model] you said: Hello"
    assert requests[0]["path"] == "/v1/chat/completions" and requests[0]["auth"] == "Bearer sk-test"
    assert requests[0]["body"]["messages"] == [{"role": "user", "content": "Summarise the repo"}]

    # Send Message: the agent's answer joins the conversation.
    sent = caller.http.post("/messages", json={"message": "Hi there", "conversation_id": "slack-1"}).json()
    assert sent["task_id"] and sent["message_id"] and sent["conversation_id"] == "slack-1"
    caller.wait_status(sent["task_id"], "completed")
    again = caller.http.post("/messages", json={"message": "And now?", "conversation_id": "slack-1"}).json()
    caller.wait_status(again["task_id"], "completed")
    assert requests[-1]["body"]["messages"] == [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "[small-model] you said: Hi there"},
        {"role": "user", "content": "And now?"},
    ]
    listed = caller.http.get("/conversations/slack-1/messages").json()
    assert [(m["role"], m["content"]) for m in listed][-1] == ("assistant", "[small-model] you said: And now?")
    assert len(listed) == 4

    # An HTTP error from the endpoint fails the task with it.
    refused = caller.create_task(prompt="please refuse")
    failed = caller.wait_status(refused["id"], "completed", "failed")
    assert failed["status"] == "failed" and "429" in failed["error"]
