"""The streamed reply: server-sent events, and the one write of the reply at the end.

Events::

    event: delta
    data: {"delta": "Your order "}

    event: done
    data: {"conversationId": "…", "messageId": "…", "complete": true}

A provider failure part-way ends the stream with ``event: error`` (``{"code", "message",
"conversationId", "messageId"}``) instead of ``done``; what was said so far is stored,
marked incomplete.

The reply is written exactly once, in its own unit of work, whatever ends the stream:
the provider finishing (``complete``), the provider failing, or the client going away
(``incomplete``). A client that disconnects is noticed by listening for
``http.disconnect`` (every ASGI server sends it) and by ``send`` raising ``OSError``
(servers of ASGI spec 2.4); the provider stream is then cancelled and closed. The write
is shielded from that cancellation, so it is never half done; ``done`` is sent only after
the write, so the message it names exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import orjson
import structlog
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bloomer_ai.agent.errors import ProviderFailed, ProviderTimedOut
from bloomer_ai.agent.providers import ProviderError, ProviderTimeout

log = structlog.get_logger("bloomer_ai.agent")

StoreReply = Callable[[str, str | None], Awaitable[None]]
"""``store(content, ended_by)``: ``ended_by`` None for a whole reply, else why it stopped."""


def sse_event(name: str, payload: dict[str, Any]) -> bytes:
    # orjson writes one line (newlines inside strings are escaped), as a data field needs.
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


class ReplyStream(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        *,
        first: str,
        rest: AsyncIterator[str],
        conversation_id: object,
        message_id: object,
        store: StoreReply,
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self.status_code = 200
        self.background = None
        self._parts = [first]
        self._rest = rest
        self._ids = {"conversationId": str(conversation_id), "messageId": str(message_id)}
        self._store = store
        self._close = close
        self._stored = False
        self._disconnected = False
        self.init_headers(
            {
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",  # proxies must not buffer the stream
                "X-Conversation-Id": self._ids["conversationId"],
                "X-Message-Id": self._ids["messageId"],
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._cancel_on_disconnect, receive, group.cancel_scope)
                await self._pump(send)
                group.cancel_scope.cancel()
        finally:
            # Runs after a disconnect too (the pump was cancelled): close the provider's
            # stream and store what it said so far, shielded from the cancellation.
            with anyio.CancelScope(shield=True):
                try:
                    await self._close()
                except Exception as exc:
                    log.warning("agent_stream_close_failed", error_type=type(exc).__name__)
                if not self._stored:
                    await self._store_once(
                        "client_disconnect" if self._disconnected else "interrupted"
                    )

    async def _pump(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        failure: ProviderError | None = None
        try:
            await self._send(send, sse_event("delta", {"delta": self._parts[0]}))
            async for piece in self._rest:
                self._parts.append(piece)
                await self._send(send, sse_event("delta", {"delta": piece}))
        except ProviderError as exc:
            failure = exc
        except OSError:
            # The client is gone (ASGI 2.4 servers raise on send); stored in __call__.
            self._disconnected = True
            return
        except Exception as exc:
            # A provider bug must not lose what was said: stored and reported like a failure.
            log.error("agent_stream_failed", error_type=type(exc).__name__)
            failure = ProviderError("the provider stream failed", provider="unknown")

        with anyio.CancelScope(shield=True):
            stored = await self._store_once(None if failure is None else "provider_error")
        if failure is not None:
            error: ProviderFailed | ProviderTimedOut = (
                ProviderTimedOut() if isinstance(failure, ProviderTimeout) else ProviderFailed()
            )
            log.warning("agent_stream_provider_error", error=str(failure), code=error.code)
            event = sse_event(
                "error", {"code": error.code, "message": error.detail_message, **self._ids}
            )
        elif not stored:
            event = sse_event(
                "error",
                {
                    "code": "reply_not_stored",
                    "message": "The reply could not be stored.",
                    **self._ids,
                },
            )
        else:
            event = sse_event("done", {**self._ids, "complete": True})
        try:
            await self._send(send, event)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (OSError, RuntimeError):
            return  # the client went away after the reply was stored: nothing left to do

    @staticmethod
    async def _send(send: Send, chunk: bytes) -> None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _store_once(self, ended_by: str | None) -> bool:
        if self._stored:
            return True
        self._stored = True
        try:
            await self._store("".join(self._parts), ended_by)
        except Exception as exc:
            # The stream has started: nothing can be answered with a status any more.
            log.error("agent_reply_not_stored", error_type=type(exc).__name__)
            return False
        return True

    async def _cancel_on_disconnect(self, receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._disconnected = True
                scope.cancel()
                return
