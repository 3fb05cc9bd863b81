"""All SQL of the agent: conversations and their messages.

Every repository is built from a session bound to a shop and takes its shop from it; the
tenancy hook adds ``shop_id = <bound shop>`` to ORM statements, the Core statements here
name it themselves, and inserts set it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Select,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.ids import new_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.kit.time import utcnow
from bloomer_ai.models import AgentConversation, AgentMessage


class StoredTurn(NamedTuple):
    """One message of a conversation's history, as the provider gets it (a named tuple:
    twenty of them are made per chat turn, straight from the rows)."""

    id: uuid.UUID
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class TouchedConversation:
    id: uuid.UUID
    customer_id: uuid.UUID | None


class ConversationRepository(ShopScopedRepository):
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
            last_message_at=utcnow() if with_first_message else None,
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
    ) -> TouchedConversation | None:
        """Marks a new message (``last_message_at``) and says whether the conversation
        exists, in one statement; None when the shop has no such conversation."""
        values: dict[str, Any] = {"last_message_at": func.now(), "updated_at": func.now()}
        if link_customer is not None:
            # Links a conversation that has no customer yet; a linked one keeps its own.
            values["customer_id"] = func.coalesce(AgentConversation.customer_id, link_customer)
        row = (
            await self.session.execute(
                update(AgentConversation)
                .where(AgentConversation.id == conversation_id)
                .values(**values)
                .returning(AgentConversation.id, AgentConversation.customer_id)
                .execution_options(synchronize_session=False)
            )
        ).one_or_none()
        return TouchedConversation(id=row.id, customer_id=row.customer_id) if row else None

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


class MessageRepository(ShopScopedRepository):
    async def insert(
        self,
        conversation_id: uuid.UUID,
        *,
        role: str,
        content: str,
        status: str = "complete",
        metadata: dict[str, Any] | None = None,
        message_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """One message by a plain INSERT (the chat's hot path: no unit-of-work flush);
        ``shop_id`` is this repository's shop, which the session is bound to."""
        new_message_id = message_id or new_id()
        await self.session.execute(
            insert(AgentMessage).values(
                id=new_message_id,
                shop_id=self.shop_id,
                conversation_id=conversation_id,
                role=role,
                content=content,
                status=status,
                message_metadata=metadata,
            )
        )
        return new_message_id

    async def append(
        self,
        conversation_id: uuid.UUID,
        *,
        role: str,
        content: str,
        status: str = "complete",
        metadata: dict[str, Any] | None = None,
        message_id: uuid.UUID | None = None,
        link_customer: uuid.UUID | None = None,
    ) -> TouchedConversation | None:
        """Adds a message to a conversation of this shop and marks the conversation's
        ``last_message_at``, in one statement (one round trip on the chat's hot path).

        None, and nothing written, when the shop has no such conversation. Core tables,
        so the shop filter is written out here rather than added by the tenancy hook.
        """
        row = (
            await self.session.execute(
                _append_statement(),
                {
                    "p_shop_id": self.shop_id,
                    "p_conversation_id": conversation_id,
                    "p_link_customer": link_customer,
                    "p_message_id": message_id or new_id(),
                    "p_role": role,
                    "p_content": content,
                    "p_status": status,
                    "p_metadata": metadata,
                },
            )
        ).one_or_none()
        return TouchedConversation(id=row.id, customer_id=row.customer_id) if row else None

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
        parameters = {"p_shop_id": self.shop_id, "p_conversation_id": conversation_id}
        rows = (await self.session.execute(_recent_statement(limit), parameters)).all()
        return [StoredTurn(*row) for row in rows]

    async def page(
        self, conversation_id: uuid.UUID, params: PageParams
    ) -> tuple[Sequence[AgentMessage], str | None]:
        statement = select(AgentMessage).where(AgentMessage.conversation_id == conversation_id)
        return await fetch_page(self.session, statement, AgentMessage.id, params)


@functools.lru_cache(maxsize=8)
def _recent_statement(limit: int) -> Select[uuid.UUID, str, str]:
    """The newest messages of a conversation, Core on the table (the chat's hot path):
    the shop's filter written out, as every Core statement here does."""
    messages = cast(Table, AgentMessage.__table__)
    uuid_type = UUID(as_uuid=True)
    return (
        select(messages.c.id, messages.c.role, messages.c.content)
        .where(
            messages.c.shop_id == bindparam("p_shop_id", type_=uuid_type),
            messages.c.conversation_id == bindparam("p_conversation_id", type_=uuid_type),
        )
        .order_by(messages.c.id.desc())
        .limit(limit)
    )


@functools.cache
def _append_statement() -> Select[tuple[uuid.UUID, uuid.UUID | None]]:
    """``MessageRepository.append`` as one statement, built once, its parameters bound per
    call (``p_``-prefixed: a parameter named like a column would become a SET value)::

        WITH touched AS (UPDATE agent_conversations SET last_message_at = now(), …
                         WHERE shop_id = :p_shop_id AND id = :p_conversation_id
                         RETURNING id, customer_id),
             added AS (INSERT INTO agent_messages (…) SELECT :p_message_id, … FROM touched)
        SELECT id, customer_id FROM touched
    """
    conversations = cast(Table, AgentConversation.__table__)
    messages = cast(Table, AgentMessage.__table__)
    uuid_type = UUID(as_uuid=True)
    touched = (
        update(conversations)
        .where(
            conversations.c.shop_id == bindparam("p_shop_id", type_=uuid_type),
            conversations.c.id == bindparam("p_conversation_id", type_=uuid_type),
        )
        .values(
            last_message_at=func.now(),
            updated_at=func.now(),
            # Links a conversation that has no customer yet; a linked one keeps its own.
            customer_id=func.coalesce(
                conversations.c.customer_id, bindparam("p_link_customer", type_=uuid_type)
            ),
        )
        .returning(conversations.c.id, conversations.c.customer_id)
        .cte("touched")
    )
    added = insert(messages).from_select(
        ["id", "shop_id", "conversation_id", "role", "content", "status", "metadata"],
        select(
            bindparam("p_message_id", type_=uuid_type),
            bindparam("p_shop_id", type_=uuid_type),
            touched.c.id,
            bindparam("p_role", type_=String()),
            bindparam("p_content", type_=Text()),
            bindparam("p_status", type_=String()),
            bindparam("p_metadata", type_=JSONB(none_as_null=True)),
        ).select_from(touched),
    )
    return select(touched.c.id, touched.c.customer_id).add_cte(added.cte("added"))
