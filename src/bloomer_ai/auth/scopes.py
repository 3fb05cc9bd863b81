"""The one list of API-key scopes. Session users hold every scope; roles gate management."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    AGENT_CHAT = "agent:chat"
    AGENT_CONFIG_READ = "agent:config:read"
    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    SHOP_READ = "shop:read"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    CUSTOMERS_READ = "customers:read"
    SUPPORT_CONTEXT = "support:context"
    SUPPORT_EVENTS = "support:events"
    SUPPORT_RULES_READ = "support:rules:read"
    SUPPORT_RULES_WRITE = "support:rules:write"
    SUPPORT_TASKS_READ = "support:tasks:read"
    SUPPORT_TASKS_WRITE = "support:tasks:write"
    VOICE_EVENTS = "voice:events"
    VOICE_ORDERS = "voice:orders"
    ROUTING_READ = "routing:read"
    ROUTING_WRITE = "routing:write"
    ROUTING_EVALUATE = "routing:evaluate"
    CAMPAIGNS_SUGGEST = "campaigns:suggest"
    CAMPAIGNS_GENERATE = "campaigns:generate"
    CAMPAIGNS_CALLBACK = "campaigns:callback"
    INTEGRATIONS_READ = "integrations:read"
    INTEGRATIONS_WRITE = "integrations:write"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.AGENT_CHAT: "Chat with the Lilli agent on behalf of the shop.",
    Scope.AGENT_CONFIG_READ: "Read the shop's agent configuration.",
    Scope.CONVERSATIONS_READ: "Read agent conversations and their messages.",
    Scope.CONVERSATIONS_WRITE: "Create conversations and append messages Lilli handled itself.",
    Scope.SHOP_READ: "Read the shop's profile (name, country, time zone, currency).",
    Scope.ORDERS_READ: "Read the shop's orders and their items.",
    Scope.ORDERS_WRITE: "Place orders through the shop tools (they wait for confirmation).",
    Scope.CUSTOMERS_READ: "Find the shop's customers by phone, e-mail or name.",
    Scope.SUPPORT_CONTEXT: "Read the minimal support context of a customer.",
    Scope.SUPPORT_EVENTS: "Send and read support automation events.",
    Scope.SUPPORT_RULES_READ: "Read the shop's support automation rules.",
    Scope.SUPPORT_RULES_WRITE: "Create, change and delete support automation rules.",
    Scope.SUPPORT_TASKS_READ: "Read the support tasks automation created for staff.",
    Scope.SUPPORT_TASKS_WRITE: "Change a support task's status, priority and assignee.",
    Scope.VOICE_EVENTS: "Send and read voice call events.",
    Scope.VOICE_ORDERS: "Create orders taken by the voice agent.",
    Scope.ROUTING_READ: "Read order routing rules.",
    Scope.ROUTING_WRITE: "Create, change and delete order routing rules.",
    Scope.ROUTING_EVALUATE: "Evaluate routing rules against an order (read-only).",
    Scope.CAMPAIGNS_SUGGEST: "Ask for campaign suggestions.",
    Scope.CAMPAIGNS_GENERATE: "Start AI campaign generation and read its status.",
    Scope.CAMPAIGNS_CALLBACK: "Deliver the result of a campaign generation.",
    Scope.INTEGRATIONS_READ: "Read the shop's provider integrations (never their secrets).",
    Scope.INTEGRATIONS_WRITE: "Connect, change and remove the shop's provider integrations.",
    Scope.WEBHOOKS_READ: "Read the shop's webhook endpoints and delivery attempts.",
    Scope.WEBHOOKS_WRITE: "Create, change, delete webhook endpoints; rotate secrets; redeliver.",
}

ALL_SCOPES: frozenset[str] = frozenset(scope.value for scope in Scope)


def unknown_scopes(requested: list[str]) -> list[str]:
    return [scope for scope in requested if scope not in ALL_SCOPES]
