"""A webhook receiver on loopback, for delivery tests and the bench.

In tests it runs in the test's event loop (``serving``) and keeps every request; how it
answers is a function of the request and how often its ``webhook-id`` came before. As a
process (``python -m support.receiver``, the bench's) it verifies each signature with
``standardwebhooks``, fails the first attempt of every Nth event if asked, and appends
one line per request to a log file (it may be stopped and started again: the log
survives).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass(frozen=True)
class Received:
    path: str
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    seen_before: int
    """Earlier requests with this webhook-id to this path."""


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay_seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Plan = Callable[[Received], Answer | Awaitable[Answer]]


def always_ok(_request: Received) -> Answer:
    return Answer()


class Receiver:
    """A plain ASGI app: records each request, answers by ``plan``."""

    def __init__(self, plan: Plan = always_ok) -> None:
        self.plan = plan
        self.received: list[Received] = []
        self.counts: Counter[tuple[str, str]] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        webhook_id = headers.get("webhook-id", "")
        body = b"".join(chunks)
        key = (scope["path"], webhook_id)
        request = Received(scope["path"], webhook_id, headers, body, self.counts[key])
        self.counts[key] += 1
        self.received.append(request)
        answer = self.plan(request)
        if not isinstance(answer, Answer):
            answer = await answer
        if answer.delay_seconds:
            await asyncio.sleep(answer.delay_seconds)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(k.encode(), v.encode()) for k, v in answer.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def serving(app: Any, *, port: int = 0, **options: Any) -> AsyncIterator[str]:
    """``app`` under uvicorn on a loopback port in this event loop; yields its base URL."""
    from support.processes import free_port

    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,  # a half-open TLS connection must not hold the test
        **options,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"{'https' if 'ssl_certfile' in options else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# --- as a process (the bench) -------------------------------------------------------------


def process_plan(secret: str, fail_every: int, log_path: str) -> Plan:
    """Verify, then answer 500 to the first request ever of every ``fail_every``-th event
    (numbered in the order first seen) and 200 otherwise; one log line per request. The
    numbering and what was seen are read back from the log when the process starts again,
    so an outage does not make an event new."""
    from pathlib import Path

    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    verifier = Webhook(secret)
    numbers: dict[str, int] = {}
    log_file = Path(log_path)
    if log_file.exists():
        for line in log_file.read_text().splitlines():
            numbers.setdefault(line.split()[1], len(numbers) + 1)
    seen = set(numbers)
    log = log_file.open("a", buffering=1)  # for the process's life

    def plan(request: Received) -> Answer:
        try:
            verifier.verify(request.body, request.headers)
        except (WebhookVerificationError, ValueError):
            log.write(f"{time.time():.3f} {request.webhook_id or '-'} 401\n")
            return Answer(401)
        number = numbers.setdefault(request.webhook_id, len(numbers) + 1)
        first = request.webhook_id not in seen
        seen.add(request.webhook_id)
        status = 500 if fail_every and number % fail_every == 0 and first else 200
        log.write(f"{time.time():.3f} {request.webhook_id} {status}\n")
        return Answer(status)

    return plan


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m support.receiver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    receiver = Receiver(process_plan(args.secret, args.fail_every, args.log))
    uvicorn.run(
        receiver,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )


if __name__ == "__main__":
    main()
