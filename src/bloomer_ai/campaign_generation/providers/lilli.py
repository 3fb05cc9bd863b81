"""Generation by the Lilli service: ``POST {LILLI_BASE_URL}/v1/campaigns/generate``.

Lilli answers with the variants at once, or ``{"status": "accepted"}``: it will POST the
result to ``callbackUrl`` later (docs/lilli-provider-contract.md, "Campaign generation").
"""

from __future__ import annotations

from collections.abc import Sequence

from bloomer_ai.agent.providers.base import BearerUpstreamProvider
from bloomer_ai.campaign_generation.providers.base import Accepted, Brief, Variant, variants_of

GENERATE_PATH = "/v1/campaigns/generate"


class LilliGenerator(BearerUpstreamProvider):
    name = "lilli"

    async def generate(self, brief: Brief) -> Sequence[Variant] | Accepted:
        answer = await self._upstream.post_json(GENERATE_PATH, brief.to_json())
        if isinstance(answer, dict) and answer.get("status") == "accepted":
            return Accepted()
        variants = variants_of(answer)
        if variants is None:
            raise self._upstream.malformed('neither "variants" nor "status": "accepted"')
        return variants
