"""Campaign copy from the Lilli service: ``POST {LILLI_BASE_URL}/v1/campaigns/copy``."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from bloomer_ai.agent.providers.base import HttpUpstream
from bloomer_ai.campaigns.providers.base import (
    CopyRequest,
    RewrittenCopy,
    copies_of,
    request_json,
)

COPY_PATH = "/v1/campaigns/copy"


class LilliCopyWriter:
    name = "lilli"
    remote = True

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout_s: float,
        connect_retries: int = 2,
        retry_backoff_s: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._upstream = HttpUpstream(
            provider=self.name,
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout_s=timeout_s,
            connect_retries=connect_retries,
            retry_backoff_s=retry_backoff_s,
            transport=transport,
        )

    async def rewrite(self, request: CopyRequest) -> Sequence[RewrittenCopy | None]:
        answer = await self._upstream.post_json(COPY_PATH, request_json(request))
        copies = copies_of(answer, len(request.drafts))
        if copies is None:
            raise self._upstream.malformed('a response without a "copies" list')
        return copies

    async def aclose(self) -> None:
        await self._upstream.aclose()
