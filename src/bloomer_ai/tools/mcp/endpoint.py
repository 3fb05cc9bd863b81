"""``/api/ai/mcp``: what every route gets, around the SDK's streamable-HTTP handler.

The SDK's session manager runs stateless with JSON responses (no session is kept in a
process, so replicas can share the traffic) inside the app's lifespan. This endpoint is a
plain ASGI route in front of it that does what ``JsonRoute`` and ``Access`` do for the
other routes: the feature switch, API-key authentication, the rate limit (the ``agent``
group), binding the request's session to the key's shop; it hands the principal to the
tools through the request, and commits the unit of work *before* the answer is sent (the
SDK's answer is held until then; a failed commit is an error answer, never a 200 after
the fact). Only POST is served: a GET would open an idle event stream a stateless server
never writes to (405, which MCP clients expect).
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.errors import MethodNotAllowed
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.tools.mcp.server import DATABASE_FAILURE_KEY, PRINCIPAL_KEY
from bloomer_ai.web.unit_of_work import finish_request_session

PATH: Final = "/api/ai/mcp"
MANAGER_STATE: Final = "mcp_sessions"


class McpEndpoint:
    """The ASGI endpoint of ``/api/ai/mcp`` (the route table reads its ``auth_kind``)."""

    auth_kind = AuthKind.API_KEY

    def __init__(self) -> None:
        self._access = Access(AuthKind.API_KEY, group=RouteGroup.AGENT, feature="tools")
        self.scopes = self._access.scopes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        principal = await self._access(request)
        if scope["method"] != "POST":
            raise MethodNotAllowed(headers={"Allow": "POST"})
        scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        manager = request.app.state.mcp_sessions
        # Authentication may have read the body (a session names its shop there): the
        # SDK gets it again, as it came.
        body = await request.body()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        try:
            await manager.handle_request(scope, replay, hold)
            failure = scope["state"].pop(DATABASE_FAILURE_KEY, None)
            if failure is not None:
                raise failure
        except BaseException:
            await finish_request_session(scope, failed=True)
            raise
        await finish_request_session(scope, failed=False)
        for message in held:
            await send(message)
