"""Routes of the Lilli agent: chat (and its /api/lilli alias), conversations, config.

Who may call what (session: which roles; sessions hold every scope):

| route | session | API key scope | rate-limit group |
|---|---|---|---|
| POST /api/ai/agent, POST /api/lilli/chat | any | agent:chat | agent |
| GET /api/ai/conversations[/{id}] | any | conversations:read | read |
| POST /api/ai/conversations[/{id}/messages], DELETE …/{id} | any | conversations:write | write |
| GET /api/ai/agent/config | any | agent:config:read | read |
| PATCH /api/ai/agent/config | owner or admin | — (sessions only) | write |
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from bloomer_ai.agent import service
from bloomer_ai.agent.chat.runner import ChatRunner
from bloomer_ai.agent.schemas import (
    AgentConfigPatch,
    AgentConfigRead,
    ChatReply,
    ChatRequest,
    ConversationCreate,
    ConversationDetail,
    ConversationRead,
    MessageRead,
    MessagesAppend,
    MessagesAppended,
)
from bloomer_ai.auth.dependencies import Access, AuthKind, manager_access
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.kit.pagination import Page
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai", tags=["agent"], route_class=JsonRoute)
lilli_router = APIRouter(prefix="/api/lilli", tags=["agent"], route_class=JsonRoute)


def _access(scope: Scope, group: RouteGroup) -> Access:
    return Access(AuthKind.SESSION_OR_KEY, scopes=[scope], group=group, feature="agent")


Chatter = Annotated[Principal, Depends(_access(Scope.AGENT_CHAT, RouteGroup.AGENT))]
ConversationReader = Annotated[
    Principal, Depends(_access(Scope.CONVERSATIONS_READ, RouteGroup.READ))
]
ConversationWriter = Annotated[
    Principal, Depends(_access(Scope.CONVERSATIONS_WRITE, RouteGroup.WRITE))
]
ConfigReader = Annotated[Principal, Depends(_access(Scope.AGENT_CONFIG_READ, RouteGroup.READ))]
ConfigManager = Annotated[Principal, Depends(manager_access(RouteGroup.WRITE, feature="agent"))]


async def _chat_runner(request: Request) -> ChatRunner:
    state = request.app.state
    return ChatRunner(
        state.session_factory, state.ai_provider, state.settings.ai, state.conversation_tools
    )


Runner = Annotated[ChatRunner, Depends(_chat_runner)]

_ERROR = {"description": 'The one error body: {"error": {"code", "message", "details"}}.'}
_CHAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The reply; with `Accept: text/event-stream`, server-sent events "
        "(`delta` events, then one `done` event with conversationId and messageId).",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    403: {**_ERROR, "description": "agent_disabled, insufficient_scope"},
    404: {**_ERROR, "description": "conversation_not_found, customer_not_found"},
    502: {**_ERROR, "description": "provider_error: the user's message was kept"},
    504: {**_ERROR, "description": "provider_timeout: the user's message was kept"},
}


def wants_event_stream(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return any(
        part.split(";", 1)[0].strip().lower() == "text/event-stream" for part in accept.split(",")
    )


async def chat(
    body: ChatRequest, principal: Chatter, session: ShopSession, request: Request, runner: Runner
) -> ChatReply | Response:
    """Ask Lilli; the conversation is created when none is named."""
    if wants_event_stream(request):
        return await runner.stream(session, principal, body)
    return await runner.reply(session, principal, body)


for _router, _path in ((router, "/agent"), (lilli_router, "/chat")):
    _router.add_api_route(
        _path,
        chat,
        methods=["POST"],
        response_model=ChatReply,
        responses=_CHAT_RESPONSES,
        summary="Chat with the Lilli agent (JSON or server-sent events)",
    )


# --- conversations ---------------------------------------------------------------------------


@router.get(
    "/conversations",
    response_model=Page[ConversationRead],
    summary="The shop's conversations, newest first",
)
async def list_conversations(
    principal: ConversationReader,
    session: ShopSession,
    page: Paging,
    customer_id: Annotated[
        str | None, Query(alias="customerId", max_length=64, description="Only this customer's.")
    ] = None,
) -> Page[ConversationRead]:
    """The shop's conversations with Lilli, newest first, in cursor pages; optionally only
    one customer's."""
    rows, next_cursor = await service.list_conversations(session, page, customer_id=customer_id)
    return Page[ConversationRead](
        items=[ConversationRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.post(
    "/conversations",
    response_model=ConversationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Start a conversation",
)
async def create_conversation(
    body: ConversationCreate, principal: ConversationWriter, session: ShopSession
) -> ConversationRead:
    """Starts an empty conversation, optionally for a customer and with a title and topic.
    Starts an empty conversation, optionally for a customer and with a title and topic."""
    conversation = await service.create_conversation(session, body, user_id=principal.user_id)
    return ConversationRead.model_validate(conversation)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    summary="A conversation with a page of its messages (newest first)",
)
async def get_conversation(
    conversation_id: str, principal: ConversationReader, session: ShopSession, page: Paging
) -> ConversationDetail:
    """A conversation and one page of its messages, newest first (`cursor` pages further
    back)."""
    conversation, messages, next_cursor = await service.get_conversation(
        session, conversation_id, page
    )
    return ConversationDetail.model_validate(
        {
            **ConversationRead.model_validate(conversation).model_dump(),
            "messages": Page[MessageRead](
                items=[MessageRead.model_validate(m) for m in messages], next_cursor=next_cursor
            ),
        }
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=MessagesAppended,
    status_code=status.HTTP_201_CREATED,
    summary="Append messages Lilli handled on its own (all or none)",
)
async def append_messages(
    conversation_id: str, body: MessagesAppend, principal: ConversationWriter, session: ShopSession
) -> MessagesAppended:
    """Stores messages of a conversation that Lilli handled without this service (all or
    none, in the order given)."""
    messages = await service.append_messages(session, conversation_id, body)
    return MessagesAppended(items=[MessageRead.model_validate(m) for m in messages])


@router.delete(
    "/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase a conversation and all its messages",
)
async def delete_conversation(
    conversation_id: str, principal: ConversationWriter, session: ShopSession
) -> None:
    """Erases the conversation and every message in it."""
    await service.delete_conversation(session, conversation_id)


# --- configuration ----------------------------------------------------------------------------


@router.get(
    "/agent/config", response_model=AgentConfigRead, summary="The shop's Lilli configuration"
)
async def read_config(principal: ConfigReader, session: ShopSession) -> AgentConfigRead:
    """Whether Lilli is on for the shop, and its configuration with every default filled
    in."""
    return await service.read_agent_config(session)


@router.patch(
    "/agent/config",
    response_model=AgentConfigRead,
    summary="Change the Lilli configuration (JSON merge patch; owners and admins)",
)
async def patch_config(
    body: AgentConfigPatch, principal: ConfigManager, session: ShopSession
) -> AgentConfigRead:
    """Changes the configuration as a JSON merge patch (RFC 7396): fields sent replace,
    `null` removes. The result is validated as a whole; owners and admins only."""
    return await service.patch_agent_config(session, body)
