"""The MCP server: the official SDK's low-level ``Server`` with two handlers.

``tools/list`` shows the tools the caller's scopes allow; ``tools/call`` runs one through
``tools.service.call_tool`` on the request's session. The caller (a principal the
endpoint authenticated) and the session are read from the HTTP request the SDK hands each
handler: the handlers run in the session manager's task, not the request's, so nothing
travels in context variables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import structlog
from mcp import MCPError
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request

from bloomer_ai import __version__
from bloomer_ai.auth.principal import Principal
from bloomer_ai.tools import service
from bloomer_ai.tools.registry import TOOLS
from bloomer_ai.web.routes import scope_header
from bloomer_ai.web.unit_of_work import request_session_of

log = structlog.get_logger("bloomer_ai.tools")

PRINCIPAL_KEY: Final = "mcp_principal"
DATABASE_FAILURE_KEY: Final = "mcp_database_failure"
NAME: Final = "bloomer-ai-shop-tools"
INSTRUCTIONS: Final = (
    "Tools of one shop of Bloomer (a florist's): its orders, opening hours, delivery, "
    "product catalogue, support context, taking an order and handing over to a person. "
    "Money is in minor units; dates are YYYY-MM-DD in the shop's time zone."
)


def _request(ctx: ServerRequestContext[Any, Any]) -> Request:
    request = ctx.request
    if not isinstance(request, Request):  # only our HTTP endpoint serves this server
        raise MCPError(INVALID_PARAMS, "This server is served over HTTP only.")
    return request


def _principal(request: Request) -> Principal:
    principal = request.scope.get("state", {}).get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise MCPError(INVALID_PARAMS, "Not authenticated.")
    return principal


async def list_tools(
    ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
) -> ListToolsResult:
    principal = _principal(_request(ctx))
    return ListToolsResult(
        tools=[
            Tool(name=d.name, description=d.description, input_schema=d.parameters)
            for d in service.tool_definitions(principal.scopes)
        ]
    )


def _content(payload: Mapping[str, Any]) -> list[TextContent]:
    return [TextContent(type="text", text=json.dumps(payload, ensure_ascii=False))]


async def call_tool(
    ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams
) -> CallToolResult:
    request = _request(ctx)
    principal = _principal(request)
    session = request_session_of(request)
    try:
        outcome = await service.call_tool(
            session,
            principal,
            params.name,
            dict(params.arguments or {}),
            idempotency_key=scope_header(request.scope, b"idempotency-key"),
        )
    except (DBAPIError, PoolTimeout) as exc:
        # The database is away: the endpoint answers 503 instead of the SDK's error.
        request.scope.setdefault("state", {})[DATABASE_FAILURE_KEY] = exc
        raise
    if outcome.error is not None and outcome.error.code in {"unknown_tool", "insufficient_scope"}:
        # A tool the key may not use is not listed, and called it is as unknown as one
        # that does not exist (the call is recorded all the same).
        raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name[:64]}")
    if outcome.ok and outcome.result is not None:
        return CallToolResult(content=_content(outcome.result), structured_content=outcome.result)
    error = outcome.error.model_dump() if outcome.error is not None else {}
    return CallToolResult(
        content=_content({"error": error}), structured_content={"error": error}, is_error=True
    )


def tool_input_schema(name: str) -> Mapping[str, Any] | None:
    tool = TOOLS.get(name)
    return tool.parameters() if tool is not None else None


def build_server() -> Server[Any]:
    """A new server (one per app: test apps never share one)."""
    return Server(
        NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        get_tool_input_schema=tool_input_schema,
    )
