"""All SQL of integrations.

``IntegrationRepository`` works on the bound shop's rows. The ``lookup_…`` functions run
before a shop is known (an inbound webhook names an integration, a called number or a
provider account): the one cross-shop path, SECURITY DEFINER functions of migration 0009
that return what finds the shop and nothing else (no secret, no settings). The
``operator_…`` functions run on the owner's connection (re-sealing secrets under a new
key).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import Integration


@dataclass(frozen=True, slots=True)
class IntegrationRef:
    """What a lookup before the shop is known returns: enough to bind the shop."""

    id: uuid.UUID
    shop_id: uuid.UUID
    provider: str
    kind: str
    status: str
    secrets_key_id: str | None = field(default=None, repr=False)
    secrets_ciphertext: bytes | None = field(default=None, repr=False)
    """Sealed (only ``webhook_integration`` returns them: the inbound check needs them)."""
    settings: dict[str, Any] | None = field(default=None, repr=False)
    """The integration's settings (only ``webhook_integration`` returns them)."""

    @property
    def vapi_auth(self) -> Any:
        """A Vapi integration's credential plan (``settings.vapiAuth``), else None."""
        if self.provider != "vapi" or not self.settings:
            return None
        return self.settings.get("vapiAuth")


class IntegrationRepository(ShopScopedRepository):
    async def insert(self, integration: Integration) -> Integration:
        integration.shop_id = self.shop_id
        self.session.add(integration)
        await self.session.flush()
        await self.session.refresh(integration)
        return integration

    async def get(self, integration_id: str | uuid.UUID) -> Integration | None:
        return await self._get(Integration, integration_id)

    async def active_of_provider(self, provider: str) -> Sequence[Integration]:
        """The shop's active integrations with ``provider`` (any kind)."""
        statement = select(Integration).where(
            Integration.shop_id == self.shop_id,
            Integration.provider == provider,
            Integration.status == "active",
        )
        return (await self.session.scalars(statement)).all()

    async def page(
        self, params: PageParams, *, kind: str | None = None, provider: str | None = None
    ) -> tuple[Sequence[Integration], str | None]:
        statement = select(Integration).where(Integration.shop_id == self.shop_id)
        if kind is not None:
            statement = statement.where(Integration.kind == kind)
        if provider is not None:
            statement = statement.where(Integration.provider == provider)
        return await fetch_page(self.session, statement, Integration.id, params)

    async def save(self, integration: Integration) -> Integration:
        await self.session.flush()
        await self.session.refresh(integration)
        return integration

    async def delete(self, integration: Integration) -> None:
        await self.session.execute(
            delete(Integration).where(
                Integration.shop_id == self.shop_id, Integration.id == integration.id
            )
        )


# --- lookups before the shop is known ------------------------------------------------------

_BY_ID = text(
    "SELECT id, shop_id, provider, kind, status, secrets_key_id, secrets_ciphertext, settings "
    "FROM webhook_integration(:id)"
)
_BY_NUMBER = text(
    "SELECT id, shop_id, provider, kind, status FROM webhook_integration_by_number(:number)"
)
_BY_ACCOUNT = text(
    "SELECT id, shop_id, provider, kind, status "
    "FROM webhook_integrations_by_account(:provider, :account)"
)


async def lookup_integration(
    session: AsyncSession, integration_id: uuid.UUID
) -> IntegrationRef | None:
    """The integration an inbound URL names, with its sealed secrets."""
    row = (await session.execute(_BY_ID, {"id": integration_id})).one_or_none()
    return IntegrationRef(*row) if row is not None else None


async def lookup_integration_by_number(
    session: AsyncSession, phone_number: str
) -> IntegrationRef | None:
    row = (await session.execute(_BY_NUMBER, {"number": phone_number})).one_or_none()
    return IntegrationRef(*row) if row is not None else None


async def lookup_integrations_by_account(
    session: AsyncSession, provider: str, account: str
) -> list[IntegrationRef]:
    """At most two: one finds the shop, two mean the account alone does not."""
    rows = await session.execute(_BY_ACCOUNT, {"provider": provider, "account": account})
    return [IntegrationRef(*row) for row in rows.all()]


# --- operators --------------------------------------------------------------------------------


async def operator_sealed_under_other_keys(
    session: AsyncSession, current_key_id: str, limit: int
) -> Sequence[Integration]:
    """Integrations (any shop) whose secrets are sealed under a key other than the current."""
    statement = (
        select(Integration)
        .where(
            Integration.secrets_key_id.is_not(None),
            Integration.secrets_key_id != current_key_id,
        )
        .order_by(Integration.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()
