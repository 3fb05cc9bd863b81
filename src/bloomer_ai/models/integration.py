from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, ShopScoped, TimestampMixin

PROVIDERS = ("twilio", "vapi", "lilli", "chatwoot", "zendesk")
KINDS = ("voice", "support")
STATUSES = ("active", "disabled")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(value) for value in values)})"


class Integration(IdMixin, TimestampMixin, ShopScoped, Base):
    """A shop's connection to an outside provider. Its secrets are sealed (AES-256-GCM, the
    key's id beside them) and never leave the service; only their names are shown."""

    __tablename__ = "integrations"
    __table_args__ = (
        # The target of composite foreign keys from the rows that will belong to it.
        UniqueConstraint("shop_id", "id"),
        # A number reaches one shop: the platform route finds the shop by the called number.
        UniqueConstraint("phone_number"),
        CheckConstraint(_one_of("provider", PROVIDERS), name="provider_known"),
        CheckConstraint(_one_of("kind", KINDS), name="kind_known"),
        CheckConstraint(_one_of("status", STATUSES), name="status_known"),
        CheckConstraint(
            "phone_number IS NULL OR (kind = 'voice' AND phone_number ~ '^\\+[1-9][0-9]{6,14}$')",
            name="phone_number_e164",
        ),
        CheckConstraint(
            "(secrets_ciphertext IS NULL) = (secrets_key_id IS NULL)", name="secrets_sealed"
        ),
    )

    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    external_account_id: Mapped[str | None] = mapped_column(String(200), index=True)
    """The shop's account at the provider (Twilio account SID, Chatwoot account id …)."""
    phone_number: Mapped[str | None] = mapped_column(String(16))
    """E.164; voice only; unique across shops."""
    settings: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="active")
    secrets_key_id: Mapped[str | None] = mapped_column(String(32))
    secrets_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_names: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), nullable=False, server_default=text("'{}'::varchar[]")
    )
    """Which secrets are set (names only: what the API shows instead of the values)."""
