"""The agent's rules: conversations, messages, the per-shop config, the two halves of a chat
turn. Functions take a session bound to the principal's shop, never commit (they flush
when an id is needed) and raise the domain's errors.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.agent.config_schema import AgentConfig, apply_config_patch, error_path
from bloomer_ai.agent.errors import (
    AgentDisabled,
    ConversationCustomerMismatch,
    ConversationNotFound,
    CustomerNotFound,
    InvalidAgentInput,
)
from bloomer_ai.agent.providers import ChatTurn, OrderFacts
from bloomer_ai.agent.providers.base import Role
from bloomer_ai.agent.repository import (
    ConversationRepository,
    CustomerRepository,
    MessageRepository,
    OrderRepository,
    ShopRepository,
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
from bloomer_ai.auth.principal import Principal
from bloomer_ai.config import AISettings
from bloomer_ai.errors import ValidationFailed
from bloomer_ai.kit.ids import new_id, parse_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import AgentConversation, AgentMessage, Order, Shop
from bloomer_ai.shops.errors import ShopNotFound

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


def stored_config(shop: Shop) -> AgentConfig:
    return parse_config(shop.id, shop.lilli_config)


def _config_read(shop: Shop) -> AgentConfigRead:
    return AgentConfigRead(lilli_enabled=shop.lilli_enabled, config=stored_config(shop).to_json())


async def read_agent_config(session: AsyncSession, shop_id: uuid.UUID) -> AgentConfigRead:
    shop = await ShopRepository(session, shop_id).get_shop()
    if shop is None:
        raise ShopNotFound()
    return _config_read(shop)


async def patch_agent_config(
    session: AsyncSession, shop_id: uuid.UUID, patch: AgentConfigPatch
) -> AgentConfigRead:
    shop = await ShopRepository(session, shop_id).get_shop_for_update()
    if shop is None:
        raise ShopNotFound()
    if "lilli_enabled" in patch.model_fields_set and patch.lilli_enabled is not None:
        shop.lilli_enabled = patch.lilli_enabled
    if "config" in patch.model_fields_set:
        # RFC 7396 on the whole body: "config": null removes the config (all defaults).
        merged = apply_merge_patch(shop.lilli_config or {}, patch.config)
        shop.lilli_config = merged.model_dump(mode="json", by_alias=True, exclude_unset=True)
    await session.flush()
    return _config_read(shop)


def apply_merge_patch(current: dict[str, Any], patch: dict[str, Any] | None) -> AgentConfig:
    try:
        return apply_config_patch(current, patch) if patch is not None else AgentConfig()
    except ValidationError as exc:
        raise ValidationFailed(
            "The agent config is not valid.",
            details=[
                {
                    "field": error_path(tuple(error["loc"])),
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


async def _existing_customer(
    session: AsyncSession, shop_id: uuid.UUID, raw: str | None
) -> uuid.UUID | None:
    """The id of a customer of this shop, or None when none was named; 404 otherwise."""
    if raw is None:
        return None
    parsed = parse_id(raw)
    if parsed is None or not await CustomerRepository(session, shop_id).exists(parsed):
        raise CustomerNotFound()
    return parsed


# --- conversations ------------------------------------------------------------------------


async def create_conversation(
    session: AsyncSession, principal: Principal, body: ConversationCreate
) -> AgentConversation:
    customer_id = await _existing_customer(session, principal.shop_id, body.customer_id)
    return await ConversationRepository(session, principal.shop_id).create(
        user_id=principal.user_id, customer_id=customer_id, title=body.title
    )


async def list_conversations(
    session: AsyncSession, shop_id: uuid.UUID, params: PageParams, *, customer_id: str | None
) -> tuple[Sequence[AgentConversation], str | None]:
    customer = await _existing_customer(session, shop_id, customer_id)
    return await ConversationRepository(session, shop_id).list_page(params, customer_id=customer)


async def get_conversation(
    session: AsyncSession, shop_id: uuid.UUID, raw_id: str, params: PageParams
) -> tuple[AgentConversation, Sequence[AgentMessage], str | None]:
    conversation = await ConversationRepository(session, shop_id).get(_conversation_id(raw_id))
    if conversation is None:
        raise ConversationNotFound()
    messages, next_cursor = await MessageRepository(session, shop_id).page(conversation.id, params)
    return conversation, messages, next_cursor


async def append_messages(
    session: AsyncSession, shop_id: uuid.UUID, raw_id: str, body: MessagesAppend
) -> list[AgentMessage]:
    """Messages Lilli handled on its own, appended in order, all or none."""
    conversation = await ConversationRepository(session, shop_id).touch(_conversation_id(raw_id))
    if conversation is None:
        raise ConversationNotFound()
    repository = MessageRepository(session, shop_id)
    # Built one by one: ids are time-sortable, so the order of the list is kept.
    messages = [
        repository.build(
            conversation.id, role=item.role, content=item.content, metadata=item.metadata
        )
        for item in body.messages
    ]
    await repository.add_all(messages)
    return messages


async def delete_conversation(session: AsyncSession, shop_id: uuid.UUID, raw_id: str) -> None:
    """Erasure: the conversation and all its messages."""
    if not await ConversationRepository(session, shop_id).delete(_conversation_id(raw_id)):
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
    session: AsyncSession, principal: Principal, body: ChatRequest, limits: AISettings
) -> PreparedTurn:
    """Checks the request, stores the user's message (in a new conversation when none was
    named) and reads what the provider needs: config, recent history, customer facts."""
    if len(body.message) > limits.agent_max_message_chars:
        raise InvalidAgentInput(
            details=[
                {
                    "field": "message",
                    "message": f"at most {limits.agent_max_message_chars} characters",
                    "type": "string_too_long",
                }
            ]
        )
    shop_id = principal.shop_id
    shop = await ShopRepository(session, shop_id).agent_facts()
    if shop is None:
        raise ShopNotFound()
    if not shop.lilli_enabled:
        raise AgentDisabled()
    config = parse_config(shop_id, shop.lilli_config)
    customer_id = await _existing_customer(session, shop_id, body.customer_id)

    messages = MessageRepository(session, shop_id)
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
        created = await ConversationRepository(session, shop_id).create(
            user_id=principal.user_id,
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
        customer = await CustomerRepository(session, shop_id).get(conversation.customer_id)
        if customer is not None:
            first_name = customer.first_name or None
            latest = await OrderRepository(session, shop_id).latest_of_customer(customer.id)
            last_order = order_facts(latest) if latest is not None else None

    return PreparedTurn(
        shop_id=shop_id,
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
    shop_id: uuid.UUID,
    *,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    content: str,
    complete: bool,
    metadata: dict[str, Any],
) -> uuid.UUID:
    """Stores the assistant's reply in one insert: whole, or marked incomplete."""
    appended = await MessageRepository(session, shop_id).append(
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


async def find_order_facts(
    session: AsyncSession, shop_id: uuid.UUID, number_or_id: str
) -> OrderFacts | None:
    """An order of this shop by its number, or by its id; None when there is none."""
    orders = OrderRepository(session, shop_id)
    order = await orders.find_by_number(number_or_id)
    if order is None:
        parsed = parse_id(number_or_id)
        order = await orders.get(parsed) if parsed is not None else None
    return order_facts(order) if order is not None else None
