"""Fake upstream answers for the agent tests: Server-Sent Events as Lilli streams them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse


def sse(*events: str) -> StreamingResponse:
    """A stream of the given raw events; ``"sleep:0.5"`` pauses instead of sending."""

    async def body() -> AsyncIterator[bytes]:
        for event in events:
            if event.startswith("sleep:"):
                await asyncio.sleep(float(event.removeprefix("sleep:")))
            else:
                yield event.encode()

    return StreamingResponse(body(), media_type="text/event-stream")


def delta(text: str) -> str:
    """One Lilli text delta event."""
    return f"data: {json.dumps({'delta': text})}\n\n"
