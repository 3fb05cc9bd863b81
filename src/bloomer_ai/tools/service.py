"""Shop tools: the definitions a caller's scopes allow, calling one, and the catalogue.

``call_tool`` is the one way anything runs a tool (the chat providers' function calls,
the MCP server, the voice webhooks). It never raises for an unknown tool, a missing
scope, bad arguments or a failing tool: those are a ``ToolOutcome`` with an ``error``.
Each tool runs in a savepoint of the caller's transaction, so a failing tool leaves
nothing behind and the session stays usable; every call is recorded in ``tool_calls``
(tool, arguments hash, outcome, duration) and logged without its arguments.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bloomer_ai.agent import service as agent
from bloomer_ai.agent.config.schema import error_path
from bloomer_ai.agent.providers.base import ToolReply, ToolSpec
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.errors import AppError
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import Product
from bloomer_ai.shops import service as shops
from bloomer_ai.tools.errors import ProductNotFound
from bloomer_ai.tools.registry import TOOLS, Tool, ToolContext, ToolFailure
from bloomer_ai.tools.repository import ProductRepository, ToolCallRepository
from bloomer_ai.tools.schemas import (
    ProductCreate,
    ProductUpdate,
    ToolDefinition,
    ToolError,
    ToolOutcome,
)

log = structlog.get_logger("bloomer_ai.tools")

MAX_ARGUMENT_BYTES = 16_384
MAX_ERROR_FIELDS = 5
MAX_TOOL_MESSAGE_CHARS = 8_000


# --- definitions ----------------------------------------------------------------------------


@functools.cache
def _definition(name: str) -> ToolDefinition:
    tool = TOOLS[name]
    return ToolDefinition(
        name=tool.name,
        description=tool.description,
        parameters=tool.parameters(),
        scope=tool.scope.value,
    )


def tool_definitions(scopes: Collection[str]) -> list[ToolDefinition]:
    """The tools the scopes allow, in the registry's order."""
    return [_definition(name) for name, tool in TOOLS.items() if tool.scope.value in scopes]


# --- calling a tool --------------------------------------------------------------------------


def arguments_hash(arguments: Mapping[str, object] | str) -> str:
    """SHA-256 (hex) of the arguments as canonical JSON (text as it was sent)."""
    if isinstance(arguments, str):
        raw = arguments.encode("utf-8", "replace")
    else:
        raw = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(raw).hexdigest()


def _decode(arguments: Mapping[str, object] | str) -> dict[str, Any] | ToolError:
    if isinstance(arguments, str):
        if len(arguments.encode("utf-8", "replace")) > MAX_ARGUMENT_BYTES:
            return ToolError(code="invalid_arguments", message="The arguments are too large.")
        text = arguments.strip() or "{}"
        try:
            decoded = json.loads(text)
        except ValueError:
            return ToolError(code="invalid_arguments", message="The arguments are not JSON.")
    else:
        decoded = dict(arguments)
    if not isinstance(decoded, dict):
        return ToolError(code="invalid_arguments", message="The arguments must be an object.")
    return decoded


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:MAX_ERROR_FIELDS]:
        path = error_path(("arguments", *error["loc"]))
        parts.append(f"{path}: {error['msg']}")
    return "; ".join(parts)


async def _run(tool: Tool, context: ToolContext, arguments: Any) -> dict[str, Any] | ToolError:
    session = context.session
    try:
        async with session.begin_nested():
            return await tool.run(context, arguments)
    except ToolFailure as failure:
        return ToolError(code=failure.code, message=failure.message)
    except AppError as exc:
        fields = [str(d["field"]) for d in exc.details if isinstance(d, Mapping) and "field" in d]
        message = exc.detail_message + (f" ({', '.join(fields)})" if fields else "")
        return ToolError(code=exc.code, message=message)
    except (OperationalError, InterfaceError, PoolTimeout):
        raise  # the database is away (or out of connections): the caller answers 503
    except IntegrityError:
        log.warning("tool_conflict", tool=tool.name)
        return ToolError(code="conflict", message="The tool's change conflicted with another.")
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        log.error("tool_failed", tool=tool.name, error_type=type(exc).__name__)
        return ToolError(code="tool_failed", message="The tool failed; try again later.")
    except Exception as exc:  # a tool's bug must not take the conversation down
        log.error("tool_failed", tool=tool.name, error_type=type(exc).__name__)
        return ToolError(code="tool_failed", message="The tool failed; try again later.")


async def call_tool(
    session: AsyncSession,
    principal: Principal,
    name: str,
    arguments: Mapping[str, object] | str,
    *,
    conversation_id: uuid.UUID | None = None,
    voice_call_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> ToolOutcome:
    """Run the tool ``name`` for ``principal`` with ``session`` (bound to the principal's
    shop): authorised by scope, arguments validated (JSON text or an object), recorded
    on the conversation or voice call it belongs to. Never raises for the caller's
    mistakes or the tool's failure; only when the database itself is away."""
    started = time.perf_counter()
    tool = TOOLS.get(name)
    result: dict[str, Any] | None = None
    error: ToolError | None = None
    if tool is None:
        error = ToolError(code="unknown_tool", message="There is no tool of that name.")
    elif tool.scope.value not in principal.scopes:
        error = ToolError(
            code="insufficient_scope", message=f"The tool needs the scope {tool.scope.value}."
        )
    else:
        decoded = _decode(arguments)
        if isinstance(decoded, ToolError):
            error = decoded
        else:
            try:
                parsed = tool.arguments.model_validate(decoded)
            except ValidationError as exc:
                error = ToolError(code="invalid_arguments", message=_validation_message(exc))
            else:
                context = ToolContext(
                    session=session,
                    principal=principal,
                    now=now or datetime.now(UTC),
                    conversation_id=conversation_id,
                    voice_call_id=voice_call_id,
                    idempotency_key=idempotency_key,
                )
                ran = await _run(tool, context, parsed)
                if isinstance(ran, ToolError):
                    error = ran
                else:
                    result = ran
    duration_ms = max(0, round((time.perf_counter() - started) * 1000))
    recorded_name = (tool.name if tool is not None else name)[:64]
    await ToolCallRepository(session).insert(
        tool=recorded_name,
        arguments_hash=arguments_hash(arguments),
        ok=error is None,
        error_code=error.code if error is not None else None,
        duration_ms=duration_ms,
        principal_kind=principal.kind.value,
        api_key_id=principal.api_key_id,
        user_id=principal.user_id,
        conversation_id=conversation_id,
        voice_call_id=voice_call_id,
    )
    log.info(
        "tool_called",
        tool=recorded_name if tool is not None else "unknown",
        ok=error is None,
        error_code=error.code if error is not None else None,
        duration_ms=duration_ms,
    )
    return ToolOutcome(
        name=recorded_name, ok=error is None, result=result, error=error, duration_ms=duration_ms
    )


# --- the chat agent's tools -------------------------------------------------------------------

CHAT_TOOL_SCOPES = frozenset(
    {Scope.SHOP_READ.value, Scope.ORDERS_READ.value, Scope.SUPPORT_EVENTS.value}
)
"""What a chat turn may always use for its caller: the shop's own facts (hours, delivery,
products), an order's status by its number (as the chat has always answered), and a
hand-off to the team. A phone number's latest order (``find_order`` by phone needs
``customers:read`` too), placing an order and a customer's support context need the
caller's own scope."""


class ConversationTools:
    """The shop tools of one chat turn (``agent.providers.ShopTools``): each call in a
    transaction of its own (the turn holds no connection while the provider thinks),
    recorded on the conversation."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        principal: Principal,
        conversation_id: uuid.UUID | None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._factory = session_factory
        self._principal = replace(principal, scopes=principal.scopes | CHAT_TOOL_SCOPES)
        self._conversation_id = conversation_id
        self._now = now

    @property
    def specs(self) -> list[ToolSpec]:
        return [
            ToolSpec(name=d.name, description=d.description, parameters=d.parameters)
            for d in tool_definitions(self._principal.scopes)
        ]

    async def call(
        self, name: str, arguments: Mapping[str, object] | str, *, call_id: str | None = None
    ) -> ToolReply:
        async with unit_of_work(self._factory, shop_id=self._principal.shop_id) as session:
            outcome = await call_tool(
                session,
                self._principal,
                name,
                arguments,
                conversation_id=self._conversation_id,
                # A model's call id, per conversation: a repeated call is one order.
                idempotency_key=(
                    f"chat:{self._conversation_id}:{call_id}" if call_id is not None else None
                ),
                now=self._now(),
            )
            reply = ToolReply(
                name=outcome.name,
                ok=outcome.ok,
                result=dict(outcome.result) if outcome.result is not None else None,
                error=outcome.error.model_dump() if outcome.error is not None else None,
            )
            if call_id is not None and self._conversation_id is not None:
                # A model's tool turn is kept in the conversation, before its reply.
                await agent.record_tool_turn(
                    session,
                    conversation_id=self._conversation_id,
                    content=json.dumps(reply.to_json(), ensure_ascii=False)[
                        :MAX_TOOL_MESSAGE_CHARS
                    ],
                    metadata={"tool": outcome.name, "toolCallId": call_id[:200], "ok": outcome.ok},
                )
        return reply


def conversation_tools(
    session_factory: async_sessionmaker[AsyncSession],
) -> Callable[[Principal, uuid.UUID | None], ConversationTools]:
    """What ``lifespan`` hands the chat runner: the tools of a caller's conversation."""

    def tools_for(principal: Principal, conversation_id: uuid.UUID | None) -> ConversationTools:
        return ConversationTools(session_factory, principal, conversation_id)

    return tools_for


# --- the product catalogue --------------------------------------------------------------------


async def get_product(session: AsyncSession, product_id: str) -> Product:
    product = await ProductRepository(session).get(product_id)
    if product is None:
        raise ProductNotFound()
    return product


async def list_products(
    session: AsyncSession, params: PageParams, *, available: bool | None = None
) -> tuple[Sequence[Product], str | None]:
    return await ProductRepository(session).page(params, available=available)


async def create_product(session: AsyncSession, data: ProductCreate) -> Product:
    currency = data.currency or (await shops.shop_profile(session)).currency
    return await ProductRepository(session).insert(
        name=data.name,
        description=data.description,
        product_type=data.product_type,
        sku=data.sku,
        price_minor=data.price,
        currency=currency,
        available=data.available,
    )


async def update_product(session: AsyncSession, product_id: str, data: ProductUpdate) -> Product:
    product = await get_product(session, product_id)
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(product, "price_minor" if name == "price" else name, value)
    return await ProductRepository(session).save(product)


async def delete_product(session: AsyncSession, product_id: str) -> None:
    repository = ProductRepository(session)
    await repository.delete(await get_product(session, product_id))
