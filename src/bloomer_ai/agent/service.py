"""The agent's rules: conversations, messages, the per-shop config, the two halves of a chat
turn. Functions take a session bound to the principal's shop (and plain values), never
commit (they flush when an id is needed) and raise the domain's errors.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.agent.config.schema import AgentConfig, apply_config_patch, error_path
from bloomer_ai.agent.errors import (
    AgentDisabled,
    ConversationCustomerMismatch,
    ConversationNotFound,
    InvalidAgentInput,
)
from bloomer_ai.agent.providers import ChatTurn, OrderFacts
from bloomer_ai.agent.providers.base import Role
from bloomer_ai.agent.repository import (
    ConversationRepository,
    MessageRepository,
    StoredTurn,
    TouchedConversation,
)
from bloomer_ai.agent.schemas import (
    AgentConfigPatch,
    AgentConfigRead,
    ChatRequest,
    ConversationCreate,
    MessagesAppend,
)
from bloomer_ai.config import AISettings
from bloomer_ai.customers import service as customers
from bloomer_ai.errors import ValidationFailed
from bloomer_ai.kit.ids import new_id, parse_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import AgentConversation, AgentMessage, Order
from bloomer_ai.orders import service as orders
from bloomer_ai.shops import service as shops

log = structlog.get_logger("bloomer_ai.agent")


# --- the shop's agent config ------------------------------------------------------------------


def parse_config(shop_id: uuid.UUID, stored: dict[str, Any] | None) -> AgentConfig:
    """The shop's config; a stored value that no longer validates (edited by hand) falls
    back to the defaults rather than breaking the chat: no hours are better than wrong ones."""
    try:
        return AgentConfig.model_validate(stored or {})
    except ValidationError:
        log.warning("agent_config_invalid", shop_id=str(shop_id))
        return AgentConfig()


async def read_agent_config(session: AsyncSession) -> AgentConfigRead:
    shop = await shops.shop_profile(session)
    config = parse_config(shop.id, shop.lilli_config)
    return AgentConfigRead(lilli_enabled=shop.lilli_enabled, config=config.to_json())


async def patch_agent_config(session: AsyncSession, patch: AgentConfigPatch) -> AgentConfigRead:
    shop = await shops.shop_for_update(session)
    if "lilli_enabled" in patch.model_fields_set and patch.lilli_enabled is not None:
        shop.lilli_enabled = patch.lilli_enabled
    if "config" in patch.model_fields_set:
        # RFC 7396 on the whole body: "config": null removes the config (all defaults).
        merged = apply_merge_patch(shop.lilli_config or {}, patch.config)
        shop.lilli_config = merged.model_dump(mode="json", by_alias=True, exclude_unset=True)
    await session.flush()
    config = parse_config(shop.id, shop.lilli_config)
    return AgentConfigRead(lilli_enabled=shop.lilli_enabled, config=config.to_json())


def apply_merge_patch(current: dict[str, Any], patch: dict[str, Any] | None) -> AgentConfig:
    try:
        return apply_config_patch(current, patch) if patch is not None else AgentConfig()
    except ValidationError as exc:
        raise ValidationFailed(
            "The agent config is not valid.",
            details=[
                {
                    "field": error_path(("body", *error["loc"])),
                    "message": error["msg"],
                    "type": error["type"],
                }
                for error in exc.errors()
            ],
        ) from None


# --- ids from requests ----------------------------------------------------------------------


def _conversation_id(raw: str) -> uuid.UUID:
    parsed = parse_id(raw)
    if parsed is None:
        raise ConversationNotFound()
    return parsed


# --- conversations ------------------------------------------------------------------------


async def create_conversation(
    session: AsyncSession, body: ConversationCreate, *, user_id: uuid.UUID | None
) -> AgentConversation:
    customer_id = await customers.existing_customer_id(session, body.customer_id)
    return await ConversationRepository(session).create(
        user_id=user_id, customer_id=customer_id, title=body.title
    )


async def list_conversations(
    session: AsyncSession, params: PageParams, *, customer_id: str | None
) -> tuple[Sequence[AgentConversation], str | None]:
    customer = await customers.existing_customer_id(session, customer_id)
    return await ConversationRepository(session).list_page(params, customer_id=customer)


async def get_conversation(
    session: AsyncSession, raw_id: str, params: PageParams
) -> tuple[AgentConversation, Sequence[AgentMessage], str | None]:
    conversation = await ConversationRepository(session).get(_conversation_id(raw_id))
    if conversation is None:
        raise ConversationNotFound()
    messages, next_cursor = await MessageRepository(session).page(conversation.id, params)
    return conversation, messages, next_cursor


async def append_messages(
    session: AsyncSession, raw_id: str, body: MessagesAppend
) -> list[AgentMessage]:
    """Messages Lilli handled on its own, appended in order, all or none."""
    conversation = await ConversationRepository(session).touch(_conversation_id(raw_id))
    if conversation is None:
        raise ConversationNotFound()
    repository = MessageRepository(session)
    # Built one by one: ids are time-sortable, so the order of the list is kept.
    messages = [
        repository.build(
            conversation.id, role=item.role, content=item.content, metadata=item.metadata
        )
        for item in body.messages
    ]
    await repository.add_all(messages)
    return messages


async def delete_conversation(session: AsyncSession, raw_id: str) -> None:
    """Erasure: the conversation and all its messages."""
    if not await ConversationRepository(session).delete(_conversation_id(raw_id)):
        raise ConversationNotFound()


# --- a chat turn ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedTurn:
    """Everything a provider needs, read while the user's message was stored."""

    shop_id: uuid.UUID
    shop_name: str
    shop_timezone: str
    shop_country: str
    config: AgentConfig
    conversation_id: uuid.UUID
    user_message_id: uuid.UUID
    history: list[ChatTurn]
    customer_first_name: str | None
    last_order: OrderFacts | None


def order_facts(order: Order) -> OrderFacts:
    return OrderFacts(
        order_number=order.number,
        status=order.status,
        delivery_date=order.delivery_date,
        created_at=order.placed_at,
    )


def fit_history(newest_first: Sequence[StoredTurn], *, max_chars: int) -> list[ChatTurn]:
    """The recent history oldest first, within ``max_chars``: the oldest messages are
    dropped first, and the newest (the message being answered) is always kept."""
    kept: list[StoredTurn] = []
    total = 0
    for turn in newest_first:
        if kept and total + len(turn.content) > max_chars:
            break
        kept.append(turn)
        total += len(turn.content)
    # The roles are the table's check constraint's, so the cast is sound.
    return [ChatTurn(role=cast(Role, turn.role), content=turn.content) for turn in reversed(kept)]


async def begin_turn(
    session: AsyncSession,
    body: ChatRequest,
    limits: AISettings,
    *,
    user_id: uuid.UUID | None,
) -> PreparedTurn:
    """Checks the request, stores the user's message (in a new conversation when none was
    named) and reads what the provider needs: config, recent history, customer facts."""
    if len(body.message) > limits.agent_max_message_chars:
        raise InvalidAgentInput(
            details=[
                {
                    "field": "body.message",
                    "message": f"at most {limits.agent_max_message_chars} characters",
                    "type": "string_too_long",
                }
            ]
        )
    shop = await shops.shop_profile(session)
    if not shop.lilli_enabled:
        raise AgentDisabled()
    config = parse_config(shop.id, shop.lilli_config)
    customer_id = await customers.existing_customer_id(session, body.customer_id)

    messages = MessageRepository(session)
    user_message_id = new_id()
    conversation: TouchedConversation | None
    if body.conversation_id is not None:
        conversation = await messages.append(
            _conversation_id(body.conversation_id),
            role="user",
            content=body.message,
            message_id=user_message_id,
            link_customer=customer_id,
        )
        if conversation is None:
            raise ConversationNotFound()
        if customer_id is not None and conversation.customer_id != customer_id:
            raise ConversationCustomerMismatch()
    else:
        created = await ConversationRepository(session).create(
            user_id=user_id,
            customer_id=customer_id,
            title=None,
            with_first_message=True,
        )
        conversation = TouchedConversation(id=created.id, customer_id=created.customer_id)
        await messages.insert(
            conversation.id, role="user", content=body.message, message_id=user_message_id
        )
    recent = await messages.recent(conversation.id, limit=limits.agent_history_messages)

    first_name: str | None = None
    last_order: OrderFacts | None = None
    if conversation.customer_id is not None:
        customer = await customers.get_customer(session, conversation.customer_id)
        first_name = customer.first_name or None
        latest = (await customers.customer_history(session, customer.id)).last_order
        if latest is not None:
            last_order = OrderFacts(
                order_number=latest.number,
                status=latest.status,
                delivery_date=latest.delivery_date,
                created_at=latest.placed_at,
            )

    return PreparedTurn(
        shop_id=shop.id,
        shop_name=shop.name,
        shop_timezone=shop.timezone,
        shop_country=shop.country,
        config=config,
        conversation_id=conversation.id,
        user_message_id=user_message_id,
        history=fit_history(recent, max_chars=limits.agent_history_chars),
        customer_first_name=first_name,
        last_order=last_order,
    )


async def record_reply(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    content: str,
    complete: bool,
    metadata: dict[str, Any],
) -> uuid.UUID:
    """Stores the assistant's reply in one insert: whole, or marked incomplete."""
    appended = await MessageRepository(session).append(
        conversation_id,
        role="assistant",
        content=content,
        status="complete" if complete else "incomplete",
        metadata=metadata,
        message_id=message_id,
    )
    if appended is None:
        raise ConversationNotFound()  # deleted while the provider was answering
    return message_id


async def record_tool_turn(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    content: str,
    metadata: dict[str, Any],
) -> bool:
    """A tool's answer in a chat turn, kept as a message with role ``tool``; False when the
    conversation was deleted meanwhile."""
    appended = await MessageRepository(session).append(
        conversation_id, role="tool", content=content, metadata=metadata, message_id=new_id()
    )
    return appended is not None


async def find_order_facts(session: AsyncSession, number_or_id: str) -> OrderFacts | None:
    """An order of this shop by its number, or by its id; None when there is none."""
    order = await orders.find_order(session, number_or_id)
    return order_facts(order) if order is not None else None
