"""Data model. Integer ``pk`` columns join tables; string ``id`` columns are
the opaque public identifiers the API shows."""

from hub.models.accounts import ApiKey, User  # noqa: F401
from hub.models.codebases import Codebase  # noqa: F401
from hub.models.conversations import Conversation, Message  # noqa: F401
from hub.models.events import Event  # noqa: F401
from hub.models.health import HealthCheck  # noqa: F401
from hub.models.idempotency import IdempotencyKey  # noqa: F401
from hub.models.oauth import OAuthClient, OAuthCode, OAuthGrant, OAuthToken  # noqa: F401
from hub.models.spaces import AuditEntry, Invitation, Membership, ShareLink, Space  # noqa: F401
from hub.models.tasks import Task  # noqa: F401
from hub.models.webhooks import Delivery, DeliveryAttempt, Subscription  # noqa: F401
from hub.models.workers import TaskOutput, Worker, WorkerToken  # noqa: F401
