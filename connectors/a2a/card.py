"""The agent card (A2A's discovery document): who the hub is as an agent,
where its JSON-RPC endpoint is, which protocol versions it speaks there, and
how a client signs in. Public, at ``/.well-known/agent-card.json`` and under
the connector's mount. Built per request from the settings (the hub's URL),
as a2a-sdk's types, written out by the SDK (which adds the v0.3 fields, e.g.
``url`` and ``protocolVersion``, for v0.3 clients)."""

from __future__ import annotations

from typing import Any

from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    HTTPAuthSecurityScheme,
    OAuth2SecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_0_3, PROTOCOL_VERSION_1_0, TransportProtocol

from connectors.base import hub
from connectors.base.declarations import Connector

PATH = "/.well-known/agent-card.json"
NAME = "agent-card.json"  # its well-known name
DESCRIPTION = (
    "CodeTether gives coding tasks to AI agents that work on your codebases. Send a message: it becomes a task "
    "in that conversation (contextId), worked on by an agent; follow it (stream, get, or a push notification) "
    "until it completes with the agent's answer as an artifact. An agent may ask a question (input-required): "
    "answer with a message in the same context."
)
# What each of the hub's agent types is for, as a skill.
AGENT_SKILLS = {
    "build": "Changes code: fixes bugs, adds features, makes tests pass.",
    "plan": "Plans a change: reads the code and answers with the steps to take, changing nothing.",
    "general": "Answers questions and does general work on a codebase.",
    "explore": "Explores a codebase: finds where things are and how they work.",
}
MODES = ["text/plain"]


def endpoint_url(connector: Connector) -> str:
    return f"{hub.base_url()}/connectors/{connector.key}"


def agent_card(connector: Connector) -> AgentCard:
    url = endpoint_url(connector)
    interfaces = [
        AgentInterface(url=url, protocol_binding=TransportProtocol.JSONRPC.value, protocol_version=version)
        for version in (PROTOCOL_VERSION_1_0, PROTOCOL_VERSION_0_3)
    ]
    scopes = {scope: scope for scope in connector.manifest.scopes}
    schemes = {
        "bearer": SecurityScheme(
            http_auth_security_scheme=HTTPAuthSecurityScheme(
                scheme="Bearer",
                description="A CodeTether API key (Settings, API keys) or an OAuth access token of the hub.",
            )
        ),
        "oauth2": SecurityScheme(
            oauth2_security_scheme=OAuth2SecurityScheme(
                description="The hub's OAuth 2.0 (authorization code with PKCE); its metadata names the endpoints.",
                oauth2_metadata_url=hub.oauth_metadata_url(),
                flows={
                    "authorization_code": {
                        "authorization_url": f"{hub.base_url()}/oauth/authorize",
                        "token_url": f"{hub.base_url()}/oauth/token",
                        "scopes": scopes,
                        "pkce_required": True,
                    }
                },
            )
        ),
    }
    return AgentCard(
        name="CodeTether",
        description=DESCRIPTION,
        supported_interfaces=interfaces,
        provider=AgentProvider(organization="CodeTether", url=hub.base_url()),
        version=connector.manifest.version,
        documentation_url=f"{hub.base_url()}/connectors/{connector.key}/docs",
        capabilities=AgentCapabilities(streaming=True, push_notifications=True),
        security_schemes=schemes,
        security_requirements=[
            SecurityRequirement(schemes={"bearer": StringList()}),
            SecurityRequirement(schemes={"oauth2": StringList(list=list(scopes))}),
        ],
        default_input_modes=MODES,
        default_output_modes=MODES,
        skills=skills(),
    )


def skills() -> list[AgentSkill]:
    """One skill per agent type: what a task's agent can be asked to do."""
    return [
        AgentSkill(
            id=agent_type,
            name=f"{agent_type.capitalize()} agent",
            description=AGENT_SKILLS.get(agent_type, f"The hub's {agent_type} agent.")
            + f' Ask for it with the message\'s metadata {{"agentType": "{agent_type}"}}.',
            tags=["coding", agent_type],
            input_modes=MODES,
            output_modes=MODES,
        )
        for agent_type in hub.AGENT_TYPES
    ]


def document(connector: Connector) -> dict[str, Any]:
    """The card as JSON, with the v0.3 fields for v0.3 clients."""
    return agent_card_to_dict(agent_card(connector))
