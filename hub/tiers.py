"""Tier policy: what a user's tier allows, in one place.

The request rate limit (``hub.limits``) and the concurrent-task limit
(``hub.services.tasks``) both ask ``allowance(user)``. The figures come from
the settings ``HUB_TIER_RATE_LIMITS`` and ``HUB_TIER_CONCURRENT_TASKS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from flask import current_app

if TYPE_CHECKING:
    from hub.models.accounts import User

TIERS = ("free", "pro", "enterprise")
DEFAULT_TIER = "free"


class Allowance(NamedTuple):
    """None means unlimited."""

    rate_limit: str | None  # a flask-limiter string such as "60/minute"
    concurrent_tasks: int | None


UNLIMITED = Allowance(None, None)


def for_tier(tier: str) -> Allowance:
    """A tier missing from the settings gets the free tier's allowance."""
    config = current_app.config
    rates, tasks = config["HUB_TIER_RATE_LIMITS"], config["HUB_TIER_CONCURRENT_TASKS"]
    return Allowance(
        rates.get(tier, rates.get(DEFAULT_TIER)) or None,
        tasks.get(tier, tasks.get(DEFAULT_TIER)),
    )


def allowance(user: User) -> Allowance:
    """The tier of the space the user acts in (an organisation's, shared by
    its members; else the user's own). Admins are exempt from both limits."""
    return UNLIMITED if user.is_admin else for_tier(user.working_tier)
