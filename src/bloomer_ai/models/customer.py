from __future__ import annotations

from sqlalchemy import Index, String, UniqueConstraint, text
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
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20))
    """E.164, normalised on the way in."""
    email: Mapped[str | None] = mapped_column(String(320))

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""
