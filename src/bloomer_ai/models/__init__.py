"""All ORM models, imported here so Alembic and the mappers see every table."""

from bloomer_ai.models.base import Base, ShopScoped
from bloomer_ai.models.customer import Customer
from bloomer_ai.models.order import Order, OrderItem
from bloomer_ai.models.shop import Shop, ShopMember
from bloomer_ai.models.user import AuthSession, User

__all__ = [
    "AuthSession",
    "Base",
    "Customer",
    "Order",
    "OrderItem",
    "Shop",
    "ShopMember",
    "ShopScoped",
    "User",
]
