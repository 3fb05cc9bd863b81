from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, ShopScoped, TimestampMixin


class Customer(IdMixin, TimestampMixin, ShopScoped, Base):
    __tablename__ = "customers"
    __table_args__ = (
        # Target of composite foreign keys: a row can only point at a customer of its own shop.
        UniqueConstraint("shop_id", "id", name="uq_customers_shop_id_id"),
        Index(
            "uq_customers_shop_id_phone",
            "shop_id",
            "phone",
            unique=True,
            postgresql_where=text("phone IS NOT NULL"),
        ),
        # Search by e-mail in any case, and by the start of the name (below).
        Index("ix_customers_shop_email_lower", "shop_id", "email_lower"),
        # A recorded consent answer has a time.
        CheckConstraint(
            "email_consent IS NULL OR email_consent_at IS NOT NULL", name="email_consent_dated"
        ),
        CheckConstraint(
            "sms_consent IS NULL OR sms_consent_at IS NOT NULL", name="sms_consent_dated"
        ),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20))
    """E.164, normalised on the way in."""
    email: Mapped[str | None] = mapped_column(String(320))
    # Lower-case copies kept by PostgreSQL, for searches in any case. Searched as columns,
    # not as lower(…): under row-level security a condition with a function that is not
    # leakproof (lower, LIKE) runs after the policy and cannot use an index.
    email_lower: Mapped[str | None] = mapped_column(Text, Computed("lower(email)"))
    name_lower: Mapped[str] = mapped_column(Text, Computed("lower(name)"))
    # Marketing consent per channel: True given, False refused, None never asked (every
    # customer made before consent was recorded). Campaigns treat None as no consent.
    email_consent: Mapped[bool | None] = mapped_column(Boolean)
    email_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sms_consent: Mapped[bool | None] = mapped_column(Boolean)
    sms_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


# starts_with(name_lower, 'ann') as an index range: text_pattern_ops compares bytes, not
# by the collation, which is what a prefix match needs.
Index(
    "ix_customers_shop_name_prefix",
    Customer.shop_id,
    Customer.name_lower,
    postgresql_ops={"name_lower": "text_pattern_ops"},
)
