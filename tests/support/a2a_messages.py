"""What an A2A 1.x client sends, as the A2A tests build it."""

from __future__ import annotations

from a2a.types import Message, Part, Role


def message(text: str, *, context_id: str = "", task_id: str = "") -> Message:
    """A user's text message, in a context or on a task when given (its id: the same for the same three)."""
    return Message(
        role=Role.ROLE_USER,
        message_id=f"m-{abs(hash((text, context_id, task_id)))}",
        parts=[Part(text=text)],
        context_id=context_id,
        task_id=task_id,
    )
