"""Campaign copy from the Lilli service: ``POST {LILLI_BASE_URL}/v1/campaigns/copy``."""

from __future__ import annotations

from collections.abc import Sequence

from bloomer_ai.agent.providers.base import BearerUpstreamProvider
from bloomer_ai.campaigns.providers.base import (
    CopyRequest,
    RewrittenCopy,
    copies_of,
    request_json,
)

COPY_PATH = "/v1/campaigns/copy"


class LilliCopyWriter(BearerUpstreamProvider):
    name = "lilli"

    async def rewrite(self, request: CopyRequest) -> Sequence[RewrittenCopy | None]:
        answer = await self._upstream.post_json(COPY_PATH, request_json(request))
        copies = copies_of(answer, len(request.drafts))
        if copies is None:
            raise self._upstream.malformed('a response without a "copies" list')
        return copies
