"""Integrations, made through the service (sealed as the app under test seals them)."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.integrations.schemas import IntegrationCreate
from bloomer_ai.integrations.service import create_integration as create
from bloomer_ai.kit.encryption import Keyring
from bloomer_ai.models import Integration, Shop
from support.sessions import shop_session

DEFAULT_SECRETS = {
    "twilio": {"authToken": "twilio-auth-token-5c1e"},
    "vapi": {"serverSecret": "vapi-server-secret-77aa"},
    "lilli": {"webhookSecret": "whsec_bGlsbGktd2ViaG9vay1zZWNyZXQtZm9yLXRlc3Rz"},
    "chatwoot": {"webhookSecret": "chatwoot-webhook-secret-0b3d"},
    "zendesk": {"webhookSecret": "zendesk-signing-secret-9e4f"},
}
DEFAULT_KIND = {"twilio": "voice", "vapi": "voice", "lilli": "voice"}


async def create_integration(
    db: AsyncSession,
    shop: Shop,
    provider: str = "vapi",
    *,
    keyring: Keyring | None = None,
    **overrides: Any,
) -> Integration:
    values: dict[str, Any] = {
        "provider": provider,
        "kind": DEFAULT_KIND.get(provider, "support"),
        "secrets": {k: SecretStr(v) for k, v in DEFAULT_SECRETS[provider].items()},
    }
    values.update(overrides)
    if isinstance(values["secrets"], dict):
        values["secrets"] = {
            k: v if isinstance(v, SecretStr) else SecretStr(v) for k, v in values["secrets"].items()
        }
    body = IntegrationCreate.model_construct(**values)
    body.model_fields_set.update(values)
    async with shop_session(db, shop) as session:
        return await create(session, body, keyring or Keyring.development())
