"""Factories for agent conversations and messages. Each flushes and returns the row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.kit.ids import new_id
from bloomer_ai.kit.time import utcnow
from bloomer_ai.models import AgentConversation, AgentMessage, Customer, Shop, User
from factories.core import add_member, create_shop, create_user


async def create_conversation(
    db: AsyncSession,
    shop: Shop,
    *,
    customer: Customer | None = None,
    **overrides: Any,
) -> AgentConversation:
    values: dict[str, Any] = {
        "id": new_id(),
        "shop_id": shop.id,
        "customer_id": customer.id if customer is not None else None,
        "title": None,
        "last_message_at": utcnow(),
    }
    values.update(overrides)
    conversation = AgentConversation(**values)
    db.add(conversation)
    await db.flush()
    return conversation


async def add_message(
    db: AsyncSession,
    conversation: AgentConversation,
    content: str = "Hello",
    *,
    role: str = "user",
    **overrides: Any,
) -> AgentMessage:
    values: dict[str, Any] = {
        "id": new_id(),
        "shop_id": conversation.shop_id,
        "conversation_id": conversation.id,
        "role": role,
        "content": content,
        "status": "complete",
    }
    values.update(overrides)
    message = AgentMessage(**values)
    db.add(message)
    await db.flush()
    return message


async def add_messages(
    db: AsyncSession, conversation: AgentConversation, contents: list[tuple[str, str]]
) -> list[AgentMessage]:
    """``[(role, content), ...]`` in order (ids are time-sortable, so the order is kept)."""
    return [await add_message(db, conversation, content, role=role) for role, content in contents]


@dataclass
class AgentWorld:
    """Two shops; an owner and a staff member of the first, an owner of the second."""

    shop: Shop
    other: Shop
    owner: User
    staff: User
    other_owner: User


async def create_agent_world(
    db: AsyncSession,
    *,
    owner_id: uuid.UUID,
    staff_id: uuid.UUID,
    other_owner_id: uuid.UUID,
    **shop_overrides: Any,
) -> AgentWorld:
    shop = await create_shop(db, name="Rozenhof", **shop_overrides)
    other = await create_shop(db, name="Tulpenhuis")
    owner = await create_user(db, id=owner_id)
    staff = await create_user(db, id=staff_id)
    other_owner = await create_user(db, id=other_owner_id)
    await add_member(db, shop, owner, "owner")
    await add_member(db, shop, staff, "staff")
    await add_member(db, other, other_owner, "owner")
    return AgentWorld(shop=shop, other=other, owner=owner, staff=staff, other_owner=other_owner)
