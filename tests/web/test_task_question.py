"""The task page of a task whose agent asked a question: the question, and a
reply form (CSRF-protected, the owner's alone) that resumes the same task."""

from support.pages import csrf_token

from hub.db import db


def ask(app, username, task_id, question):
    """The task's agent asks, as a worker's ask does."""
    from hub.models import User
    from hub.services import questions, tasks

    with app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == username))
        task = tasks.get_task(owner, task_id)
        tasks.transition(task, "running")
        questions.ask(task, question)
        db.session.commit()


def test_the_page_shows_the_question_and_the_owners_reply_resumes_the_task(app, alice, bob, sign_in):
    task = alice.create_task(title="Deploy", prompt="Deploy the app")
    ask(app, "alice", task["id"], "Which <branch>?")
    client = sign_in("alice")
    page = client.get(f"/tasks/{task['id']}")
    html = page.get_data(as_text=True)
    assert "Which &lt;branch&gt;?" in html and 'id="send-reply"' in html and "input_required" in html
    assert 'http-equiv="refresh"' not in html  # no reload while the owner writes the reply

    assert client.post(f"/tasks/{task['id']}/reply", data={"message": "main"}).status_code == 400  # no CSRF token
    blank = client.post(f"/tasks/{task['id']}/reply", data={"message": " ", "csrf_token": csrf_token(page)})
    assert blank.status_code == 302
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["status"] == "input_required"

    bobs = sign_in("bob")
    bobs_page = bobs.get("/dashboard")
    refused = bobs.post(f"/tasks/{task['id']}/reply", data={"message": "prod", "csrf_token": csrf_token(bobs_page)})
    assert refused.status_code == 404
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["status"] == "input_required"

    client = sign_in("alice")
    sent = client.post(f"/tasks/{task['id']}/reply", data={"message": "main", "csrf_token": csrf_token(page)})
    assert sent.status_code == 302
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["status"] == "pending"
    conversation = alice.get(f"/api/v1/tasks/{task['id']}").json["conversation_id"]
    messages = alice.get(f"/api/v1/conversations/{conversation}/messages").json
    assert [(m["role"], m["content"]) for m in messages][-1] == ("user", "main")
    html = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "Reply sent" in html and 'id="send-reply"' not in html
