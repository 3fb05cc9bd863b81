"""One delivery attempt over HTTP: resolve, check, connect to that address, POST once.

The request goes to the address resolved for this attempt, with the endpoint's name in
``Host`` and (https) in the TLS server name and certificate check; redirects are not
followed (a 3xx is a failed attempt); the whole attempt — resolving, connecting, sending,
the answer — has ``WEBHOOK_TIMEOUT_SECONDS``; of the answer's body at most 64 KiB is read
(and dropped: only the status counts), so a short answer leaves its connection reusable.
Proxies from the environment are ignored (they would connect elsewhere).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass

import httpx

from bloomer_ai import __version__
from bloomer_ai.outbound_webhooks.delivery.targets import (
    Resolver,
    TargetRefused,
    parse_target,
    resolve,
    system_resolver,
)

USER_AGENT = f"bloomer-ai-webhooks/{__version__}"
MAX_CLIENTS = 256
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class AttemptResult:
    outcome: str
    """succeeded (2xx) | gone (410) | failed | refused (the address or URL is not allowed)"""
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def final(self) -> bool:
        """No retry after this one."""
        return self.outcome in ("succeeded", "gone", "refused")


def _outcome_of(status: int) -> tuple[str, str | None]:
    if 200 <= status < 300:
        return "succeeded", None
    if status == 410:
        return "gone", None
    if 300 <= status < 400:
        return "failed", "redirect_not_followed"
    return "failed", None


class Sender:
    """HTTP clients for deliveries, one per endpoint name (a TLS connection made for one
    name is never reused for another name on the same address)."""

    def __init__(
        self,
        *,
        timeout_seconds: float,
        private_allowed: bool,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.private_allowed = private_allowed
        self.resolver = resolver
        self.verify = verify
        self._clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()

    def _client(self, host: str) -> httpx.AsyncClient:
        client = self._clients.pop(host, None)
        if client is None:
            client = httpx.AsyncClient(
                timeout=self.timeout_seconds,
                follow_redirects=False,
                trust_env=False,
                verify=self.verify,
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            )
        self._clients[host] = client  # most recently used last
        while len(self._clients) > MAX_CLIENTS:
            _, oldest = self._clients.popitem(last=False)
            task = asyncio.create_task(oldest.aclose())
            task.add_done_callback(lambda done: done.exception())
        return client

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> AttemptResult:
        started = time.monotonic()

        def result(outcome: str, status: int | None, error: str | None) -> AttemptResult:
            elapsed = int((time.monotonic() - started) * 1000)
            return AttemptResult(outcome, status, error, elapsed)

        try:
            target = parse_target(url, private_allowed=self.private_allowed)
            async with asyncio.timeout(self.timeout_seconds):
                address = await resolve(
                    target, private_allowed=self.private_allowed, resolver=self.resolver
                )
                request_headers = {
                    **headers,
                    "host": target.host_header,
                    "content-type": "application/json",
                    "user-agent": USER_AGENT,
                }
                extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
                async with self._client(target.host).stream(
                    "POST",
                    target.at(address),
                    content=body,
                    headers=request_headers,
                    extensions=extensions,
                ) as response:
                    status = response.status_code
                    # Read a short answer to its end so the connection can be used again;
                    # a long one is cut (the connection is closed instead).
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read > MAX_ANSWER_BYTES:
                            break
        except TargetRefused as refused:
            return result("refused", None, refused.code)
        except (TimeoutError, httpx.TimeoutException):
            return result("failed", None, "timeout")
        except httpx.ConnectError:
            return result("failed", None, "connect_failed")
        except (httpx.HTTPError, OSError) as exc:
            return result("failed", None, type(exc).__name__[:64])
        outcome, error = _outcome_of(status)
        return result(outcome, status, error)

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.aclose()
