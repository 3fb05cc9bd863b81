"""A chat turn end to end, and where its transactions begin and end.

A turn spans a provider call that may take many seconds, so it is not one request
transaction:

1. in the request's session: check the request, store the user's message, read config
   and history — then commit, *before* the provider is asked, so a provider failure
   (502/504) or a client that goes away never loses the user's message, and no database
   connection is held while the provider thinks;
2. the provider call (its order look-ups each run in their own short read);
3. store the assistant's reply in one insert: for a JSON answer in the request's unit of
   work (committed before the response is sent); for a stream in a unit of work of its
   own when the stream ends — whole, or marked ``incomplete`` when it was cut off.

The service functions inside never commit; the commit after step 1 and the
``unit_of_work`` blocks here do.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bloomer_ai.agent import service
from bloomer_ai.agent.chat.streaming import ReplyStream
from bloomer_ai.agent.errors import ProviderFailed, ProviderTimedOut
from bloomer_ai.agent.providers import (
    AIProvider,
    OrderFacts,
    ProviderError,
    ProviderTimeout,
    ShopContext,
    ShopTools,
)
from bloomer_ai.agent.schemas import ChatReply, ChatRequest
from bloomer_ai.agent.service import PreparedTurn
from bloomer_ai.auth.principal import Principal
from bloomer_ai.config import AISettings
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.kit.ids import new_id

log = structlog.get_logger("bloomer_ai.agent")

ToolsFor = Callable[[Principal, uuid.UUID | None], ShopTools]
"""The shop tools of a caller's conversation (``lifespan`` makes it from the tools domain)."""


class ChatRunner:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        provider: AIProvider,
        limits: AISettings,
        tools_for: ToolsFor | None = None,
    ) -> None:
        self._factory = session_factory
        self._provider = provider
        self._limits = limits
        self._tools_for = tools_for

    async def reply(
        self, session: AsyncSession, principal: Principal, body: ChatRequest
    ) -> ChatReply:
        """The whole reply as one JSON answer; ``session`` is the request's."""
        turn = await self._begin(session, principal, body)
        with _provider_errors(turn, self._provider.name):
            text = await self._provider.complete(turn.history, self._shop_context(turn, principal))
        message_id = await service.record_reply(
            session,
            conversation_id=turn.conversation_id,
            message_id=new_id(),
            content=text,
            complete=True,
            metadata=self._reply_metadata(ended_by=None),
        )
        return ChatReply(reply=text, conversation_id=turn.conversation_id, message_id=message_id)

    async def stream(
        self, session: AsyncSession, principal: Principal, body: ChatRequest
    ) -> ReplyStream:
        """The reply as server-sent events. The first piece is awaited here, so a provider
        that fails before saying anything still gets a proper 502/504 answer."""
        turn = await self._begin(session, principal, body)
        pieces = aiter(self._provider.stream(turn.history, self._shop_context(turn, principal)))
        with _provider_errors(turn, self._provider.name):
            try:
                first = await anext(pieces)
            except StopAsyncIteration:
                raise ProviderError(
                    f"{self._provider.name} sent an empty reply", provider=self._provider.name
                ) from None
            except BaseException:
                await _close(pieces)
                raise
        message_id = new_id()

        async def store(content: str, ended_by: str | None) -> None:
            await self._store_reply(turn, message_id, content, ended_by=ended_by)

        return ReplyStream(
            first=first,
            rest=pieces,
            conversation_id=turn.conversation_id,
            message_id=message_id,
            store=store,
            close=lambda: _close(pieces),
        )

    async def _begin(
        self, session: AsyncSession, principal: Principal, body: ChatRequest
    ) -> PreparedTurn:
        turn = await service.begin_turn(session, body, self._limits, user_id=principal.user_id)
        # Committed now: the user's message is kept whatever the provider does next, and
        # the connection goes back to the pool while the provider thinks.
        await session.commit()
        return turn

    def _shop_context(self, turn: PreparedTurn, principal: Principal) -> ShopContext:
        shop_id = turn.shop_id

        async def find_order(number_or_id: str) -> OrderFacts | None:
            async with unit_of_work(self._factory, shop_id=shop_id) as session:
                return await service.find_order_facts(session, number_or_id)

        return ShopContext(
            shop_id=str(shop_id),
            shop_name=turn.shop_name,
            timezone=turn.shop_timezone,
            country=turn.shop_country,
            config=turn.config,
            customer_first_name=turn.customer_first_name,
            last_order=turn.last_order,
            find_order=find_order,
            tools=self._tools_for(principal, turn.conversation_id) if self._tools_for else None,
        )

    def _reply_metadata(self, *, ended_by: str | None) -> dict[str, Any]:
        metadata: dict[str, Any] = {"provider": self._provider.name}
        if ended_by is not None:
            metadata["endedBy"] = ended_by
        return metadata

    async def _store_reply(
        self, turn: PreparedTurn, message_id: uuid.UUID, content: str, *, ended_by: str | None
    ) -> None:
        """The streamed reply, after the request's session is gone: a unit of work of its own."""
        metadata = self._reply_metadata(ended_by=ended_by)
        async with unit_of_work(self._factory, shop_id=turn.shop_id) as session:
            await service.record_reply(
                session,
                conversation_id=turn.conversation_id,
                message_id=message_id,
                content=content,
                complete=ended_by is None,
                metadata=metadata,
            )


@contextlib.contextmanager
def _provider_errors(turn: PreparedTurn, provider: str) -> Iterator[None]:
    """Provider failures as API errors that tell the client where its message was kept."""
    details = [
        {
            "conversationId": str(turn.conversation_id),
            "userMessageId": str(turn.user_message_id),
        }
    ]
    try:
        yield
    except ProviderTimeout:
        log.warning("agent_provider_timeout", provider=provider)
        raise ProviderTimedOut(details=details) from None
    except ProviderError as exc:
        log.warning(
            "agent_provider_error",
            provider=provider,
            error=str(exc),
            upstream_status=exc.upstream_status,
        )
        raise ProviderFailed(details=details) from None


async def _close(pieces: AsyncIterator[str]) -> None:
    aclose = getattr(pieces, "aclose", None)
    if aclose is not None:
        await aclose()
