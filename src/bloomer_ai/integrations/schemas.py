from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue, SecretStr, model_validator

from bloomer_ai.kit.schemas import InputSchema, Schema

Provider = Literal["twilio", "vapi", "lilli", "chatwoot", "zendesk"]
Kind = Literal["voice", "support"]
Status = Literal["active", "disabled"]

SecretValue = Annotated[SecretStr, Field(min_length=1, max_length=4096)]

SECRETS_DESCRIPTION = (
    "Write-only: stored sealed (AES-256-GCM) and never returned. Names per provider: "
    "twilio `authToken`; vapi `serverSecret`; lilli `webhookSecret` (whsec_…); chatwoot "
    "`webhookSecret`, `apiAccessToken`; zendesk `webhookSecret`, `apiToken`. The signing "
    "secret may hold several, comma-separated, newest first, while the provider rotates it."
)


class IntegrationCreate(InputSchema):
    provider: Provider
    kind: Kind = Field(description="voice: twilio, vapi, lilli; support: chatwoot, zendesk, lilli.")
    external_account_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The shop's account at the provider (Twilio account SID, Chatwoot account "
        "id …): finds the shop on the platform route.",
    )
    phone_number: str | None = Field(
        default=None,
        min_length=3,
        max_length=40,
        description="Voice only. Any common spelling (the shop's country is the default "
        "region); stored in E.164. One number belongs to one shop.",
    )
    settings: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Provider settings (e.g. Twilio's answer mode). Returned as given: no secrets.",
    )
    status: Status = "active"
    secrets: dict[str, SecretValue] = Field(description=SECRETS_DESCRIPTION)


class IntegrationUpdate(InputSchema):
    """PATCH: only the fields sent change. ``externalAccountId`` and ``phoneNumber`` may be
    null (removed); in ``secrets`` a value replaces that secret and null removes it."""

    external_account_id: str | None = Field(default=None, min_length=1, max_length=200)
    phone_number: str | None = Field(default=None, min_length=3, max_length=40)
    settings: dict[str, JsonValue] | None = None
    status: Status | None = None
    secrets: dict[str, SecretValue | None] | None = Field(
        default=None, description=SECRETS_DESCRIPTION
    )

    @model_validator(mode="after")
    def _no_nulls(self) -> IntegrationUpdate:
        for name in ("settings", "status", "secrets"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class IntegrationRead(Schema):
    id: uuid.UUID
    provider: Provider
    kind: Kind
    external_account_id: str | None
    phone_number: str | None
    settings: dict[str, Any]
    status: Status
    secrets_set: list[str] = Field(description="Names of the secrets that are set (never values).")
    inbound_url: str = Field(description="The URL to configure at the provider for its webhooks.")
    created_at: datetime
    updated_at: datetime
