from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, ShopScoped, TimestampMixin


class OrderRoutingRule(IdMixin, TimestampMixin, ShopScoped, Base):
    """A JsonLogic condition and the route it suggests. Stored, never applied by itself."""

    __tablename__ = "order_routing_rules"
    __table_args__ = (
        Index("ix_order_routing_rules_shop_order", "shop_id", "priority", "created_at"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default="100")
    conditions: Mapped[Any] = mapped_column(JSONB, nullable=False)
    action: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    stop_on_match: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )


class RoutingRuleSetVersion(ShopScoped, Base):
    """Bumped in the same transaction as every rule change of a shop.

    Each process caches a shop's compiled rules with the version it compiled; a different
    version in the database means recompile, so every process sees a change at once.
    """

    __tablename__ = "routing_rule_set_versions"

    # One row per shop: the shop id is the key (overrides the mixin's plain column).
    shop_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")
