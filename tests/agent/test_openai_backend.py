"""The openai backend against a small local server that speaks the
chat-completions format (the one outside service the tests cannot reach)."""

import json

import pytest
from werkzeug.wrappers import Request, Response

# The SQLite pass is enough: the agent backends ask nothing more of the database.
pytestmark = pytest.mark.sqlite_only

JSON = {"Content-Type": "application/json"}


def chat_completions(requests: list):
    """A chat-completions endpoint that echoes the last message, and refuses (429) when asked to."""

    @Request.application
    def answer(request: Request) -> Response:
        body = request.get_json()
        requests.append({"path": request.path, "auth": request.headers.get("Authorization"), "body": body})
        last = body["messages"][-1]["content"]
        if "refuse" in last:
            return Response(json.dumps({"error": {"message": "rate limited", "type": "requests"}}), 429, JSON)
        completion = {
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
        }
        return Response(json.dumps(completion), 200, JSON)

    return answer


@pytest.fixture
def llm(serve):
    requests: list = []
    return serve(chat_completions(requests)).url("/v1"), requests


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
