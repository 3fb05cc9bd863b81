"""Generation by the Lilli service: ``POST {LILLI_BASE_URL}/v1/campaigns/generate``.

Lilli answers with the variants at once, or ``{"status": "accepted"}``: it will POST the
result to ``callbackUrl`` later (docs/lilli-provider-contract.md, "Campaign generation").
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from bloomer_ai.agent.providers.base import HttpUpstream
from bloomer_ai.campaign_generation.providers.base import Accepted, Brief, Variant, variants_of

GENERATE_PATH = "/v1/campaigns/generate"


class LilliGenerator:
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

    async def generate(self, brief: Brief) -> Sequence[Variant] | Accepted:
        answer = await self._upstream.post_json(GENERATE_PATH, brief.to_json())
        if isinstance(answer, dict) and answer.get("status") == "accepted":
            return Accepted()
        variants = variants_of(answer)
        if variants is None:
            raise self._upstream.malformed('neither "variants" nor "status": "accepted"')
        return variants

    async def aclose(self) -> None:
        await self._upstream.aclose()
