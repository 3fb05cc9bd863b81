"""All ORM models, imported here so Alembic and the mappers see every table."""

from bloomer_ai.models.agent import AgentConversation, AgentMessage
from bloomer_ai.models.api_key import ApiKey
from bloomer_ai.models.base import Base, ShopScoped
from bloomer_ai.models.campaign_generation import CampaignGenerationRequest
from bloomer_ai.models.customer import Customer
from bloomer_ai.models.idempotency import IdempotencyKey
from bloomer_ai.models.integration import Integration
from bloomer_ai.models.order import Order, OrderItem, OrderNumberCounter
from bloomer_ai.models.outbound_webhook import WebhookAttempt, WebhookEndpoint, WebhookEvent
from bloomer_ai.models.routing import OrderRoutingRule, RoutingRuleSetVersion
from bloomer_ai.models.shop import Shop, ShopMember
from bloomer_ai.models.support import (
    SupportContextRead,
    SupportEvent,
    SupportRule,
    SupportTask,
)
from bloomer_ai.models.tools import Product, ToolCall
from bloomer_ai.models.user import AuthSession, User
from bloomer_ai.models.voice import VoiceCall, VoiceCallEvent
from bloomer_ai.models.webhook_delivery import WebhookDelivery

__all__ = [
    "AgentConversation",
    "AgentMessage",
    "ApiKey",
    "AuthSession",
    "Base",
    "CampaignGenerationRequest",
    "Customer",
    "IdempotencyKey",
    "Integration",
    "Order",
    "OrderItem",
    "OrderNumberCounter",
    "OrderRoutingRule",
    "Product",
    "RoutingRuleSetVersion",
    "Shop",
    "ShopMember",
    "ShopScoped",
    "SupportContextRead",
    "SupportEvent",
    "SupportRule",
    "SupportTask",
    "ToolCall",
    "User",
    "VoiceCall",
    "VoiceCallEvent",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
