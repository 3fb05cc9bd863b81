"""Generation by any OpenAI-compatible chat-completions server: one completion with
``response_format: json_object``, the brief as the user message, the rules in the system
message; the answer is ``{"variants": [...]}``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Unpack

from bloomer_ai.agent.providers.base import BearerUpstreamProvider, UpstreamOptions, unfenced
from bloomer_ai.campaign_generation.providers.base import Accepted, Brief, Variant, variants_of
from bloomer_ai.campaign_generation.schemas import PREVIEW_MAX, SUBJECT_MAX

COMPLETIONS_PATH = "/chat/completions"
LANGUAGE_NAMES = {"en": "English", "nl": "Dutch", "de": "German", "fr": "French"}


class OpenAIGenerator(BearerUpstreamProvider):
    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        base_url: str,
        api_key: str | None,
        timeout_s: float,
        **options: Unpack[UpstreamOptions],
    ) -> None:
        super().__init__(base_url=base_url, api_key=api_key, timeout_s=timeout_s, **options)
        self._model = model

    async def generate(self, brief: Brief) -> Sequence[Variant] | Accepted:
        body = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": system_prompt(brief)},
                {"role": "user", "content": json.dumps(brief.to_json())},
            ],
            "response_format": {"type": "json_object"},
            "stream": False,
        }
        answer = await self._upstream.post_json(COMPLETIONS_PATH, body)
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise self._upstream.malformed("a completion without choices[0].message") from None
        if not isinstance(content, str):
            raise self._upstream.malformed("a completion without text content")
        variants = variants_of(self._upstream.decode_json(unfenced(content), what="completion"))
        if variants is None:
            raise self._upstream.malformed('a completion without a "variants" list')
        return variants


def system_prompt(brief: Brief) -> str:
    shop = brief.shop.name
    return "\n".join(
        [
            f'You write marketing copy for the flower shop "{shop}" (country '
            f"{brief.shop.country}).",
            "The user message holds the brief as JSON: the occasion and its date, the channel, "
            "the audience segment, the tone and the staff's notes.",
            f"Write {brief.variants} different variants in "
            f"{LANGUAGE_NAMES.get(brief.language, 'English')}.",
            f"Each has a subject (at most {SUBJECT_MAX} characters), a preview (e-mail preview "
            f"text, at most {PREVIEW_MAX} characters), a body (the e-mail, plain text) and "
            "smsText (one SMS: 160 GSM-7 characters, or 70 if it uses any other character, "
            "with an opt-out such as 'STOP').",
            f'Name the shop "{shop}" in every variant. Use only the facts in the brief: never '
            "invent discounts, prices, products or dates.",
            'Answer with one JSON object: {"variants": [{"subject": "...", "preview": "...", '
            '"body": "...", "smsText": "..."}]}.',
        ]
    )
