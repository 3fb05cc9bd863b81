"""All SQL of the agent. Every repository is built for one shop on a session bound to it.

The tenancy hook adds ``shop_id = <bound shop>`` to every statement here; the repository
checks at construction that the session is bound to the shop it was built for, and
``create`` methods set ``shop_id`` themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.db.tenancy import TenancyViolation, bound_shop_id
from bloomer_ai.kit.ids import new_id
from bloomer_ai.kit.pagination import PageParams, fetch_page
from bloomer_ai.models import AgentConversation, AgentMessage, Customer, Order, Shop


class _ShopRepository:
    def __init__(self, session: AsyncSession, shop_id: uuid.UUID) -> None:
        if bound_shop_id(session.sync_session) != shop_id:
            raise TenancyViolation("a shop repository needs a session bound to its shop")
        self.session = session
        self.shop_id = shop_id


@dataclass(frozen=True, slots=True)
class StoredTurn:
    """One message of a conversation's history, as the provider gets it."""

    id: uuid.UUID
    role: str
    content: str


class ShopRepository(_ShopRepository):
    async def get_shop(self) -> Shop | None:
        # Read on every chat request: the agent's config is never served from a cache.
        return await self.session.get(Shop, self.shop_id, populate_existing=True)

    async def get_shop_for_update(self) -> Shop | None:
        # PATCH is read-merge-write: the row lock keeps two concurrent patches from
        # overwriting each other.
        return await self.session.scalar(
            select(Shop)
            .where(Shop.id == self.shop_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )


class CustomerRepository(_ShopRepository):
    async def get(self, customer_id: uuid.UUID) -> Customer | None:
        return await self.session.scalar(select(Customer).where(Customer.id == customer_id))

    async def exists(self, customer_id: uuid.UUID) -> bool:
        found = await self.session.scalar(select(Customer.id).where(Customer.id == customer_id))
        return found is not None


class OrderRepository(_ShopRepository):
    async def find_by_number(self, number: str) -> Order | None:
        return await self.session.scalar(select(Order).where(Order.number == number))

    async def get(self, order_id: uuid.UUID) -> Order | None:
        return await self.session.scalar(select(Order).where(Order.id == order_id))

    async def latest_of_customer(self, customer_id: uuid.UUID) -> Order | None:
        return await self.session.scalar(
            select(Order)
            .where(Order.customer_id == customer_id)
            .order_by(Order.placed_at.desc())
            .limit(1)
        )


class ConversationRepository(_ShopRepository):
    async def create(
        self,
        *,
        user_id: uuid.UUID | None,
        customer_id: uuid.UUID | None,
        title: str | None,
        with_first_message: bool = False,
    ) -> AgentConversation:
        conversation = AgentConversation(
            id=new_id(),
            shop_id=self.shop_id,
            user_id=user_id,
            customer_id=customer_id,
            title=title,
            last_message_at=func.now() if with_first_message else None,
        )
        self.session.add(conversation)
        await self.session.flush()
        return conversation

    async def get(self, conversation_id: uuid.UUID) -> AgentConversation | None:
        return await self.session.scalar(
            select(AgentConversation).where(AgentConversation.id == conversation_id)
        )

    async def touch(
        self, conversation_id: uuid.UUID, *, link_customer: uuid.UUID | None = None
    ) -> AgentConversation | None:
        """Marks a new message (``last_message_at``) and returns the conversation, in one
        statement; None when the shop has no such conversation."""
        values: dict[str, Any] = {"last_message_at": func.now(), "updated_at": func.now()}
        statement = update(AgentConversation).where(AgentConversation.id == conversation_id)
        if link_customer is not None:
            # Links a conversation that has no customer yet; a linked one keeps its own.
            values["customer_id"] = func.coalesce(AgentConversation.customer_id, link_customer)
        result = await self.session.scalars(
            statement.values(**values)
            .returning(AgentConversation)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return result.one_or_none()

    async def list_page(
        self, params: PageParams, *, customer_id: uuid.UUID | None = None
    ) -> tuple[Sequence[AgentConversation], str | None]:
        statement = select(AgentConversation)
        if customer_id is not None:
            statement = statement.where(AgentConversation.customer_id == customer_id)
        return await fetch_page(self.session, statement, AgentConversation.id, params)

    async def delete(self, conversation_id: uuid.UUID) -> bool:
        """Deletes the conversation; its messages go with it (ON DELETE CASCADE)."""
        deleted = await self.session.scalar(
            delete(AgentConversation)
            .where(AgentConversation.id == conversation_id)
            .returning(AgentConversation.id)
            .execution_options(synchronize_session=False)
        )
        return deleted is not None


class MessageRepository(_ShopRepository):
    async def add(
        self,
        conversation_id: uuid.UUID,
        *,
        role: str,
        content: str,
        status: str = "complete",
        metadata: dict[str, Any] | None = None,
        message_id: uuid.UUID | None = None,
    ) -> AgentMessage:
        message = self.build(
            conversation_id,
            role=role,
            content=content,
            status=status,
            metadata=metadata,
            message_id=message_id,
        )
        self.session.add(message)
        await self.session.flush()
        return message

    def build(
        self,
        conversation_id: uuid.UUID,
        *,
        role: str,
        content: str,
        status: str = "complete",
        metadata: dict[str, Any] | None = None,
        message_id: uuid.UUID | None = None,
    ) -> AgentMessage:
        return AgentMessage(
            id=message_id or new_id(),
            shop_id=self.shop_id,
            conversation_id=conversation_id,
            role=role,
            content=content,
            status=status,
            message_metadata=metadata,
        )

    async def add_all(self, messages: Sequence[AgentMessage]) -> None:
        self.session.add_all(messages)
        await self.session.flush()

    async def recent(self, conversation_id: uuid.UUID, *, limit: int) -> list[StoredTurn]:
        """The newest ``limit`` messages, newest first, in one query: an Index Scan Backward
        on (shop_id, conversation_id, id) that stops after ``limit`` rows, however long
        the conversation or large the table."""
        rows = (
            await self.session.execute(
                select(AgentMessage.id, AgentMessage.role, AgentMessage.content)
                .where(AgentMessage.conversation_id == conversation_id)
                .order_by(AgentMessage.id.desc())
                .limit(limit)
            )
        ).all()
        return [StoredTurn(id=row.id, role=row.role, content=row.content) for row in rows]

    async def page(
        self, conversation_id: uuid.UUID, params: PageParams
    ) -> tuple[Sequence[AgentMessage], str | None]:
        statement = select(AgentMessage).where(AgentMessage.conversation_id == conversation_id)
        return await fetch_page(self.session, statement, AgentMessage.id, params)
