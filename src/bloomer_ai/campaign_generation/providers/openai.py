"""Generation by any OpenAI-compatible chat-completions server: one completion with
``response_format: json_object``, the brief as the user message, the rules in the system
message; the answer is ``{"variants": [...]}``."""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx

from bloomer_ai.agent.providers.base import HttpUpstream
from bloomer_ai.campaign_generation.providers.base import Accepted, Brief, Variant, variants_of
from bloomer_ai.campaign_generation.schemas import PREVIEW_MAX, SUBJECT_MAX

COMPLETIONS_PATH = "/chat/completions"
LANGUAGE_NAMES = {"en": "English", "nl": "Dutch", "de": "German", "fr": "French"}


class OpenAIGenerator:
    name = "openai"
    remote = True

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        timeout_s: float,
        connect_retries: int = 2,
        retry_backoff_s: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._model = model
        self._upstream = HttpUpstream(
            provider=self.name,
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout_s=timeout_s,
            connect_retries=connect_retries,
            retry_backoff_s=retry_backoff_s,
            transport=transport,
        )

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
        variants = variants_of(self._upstream.decode_json(_unfenced(content), what="completion"))
        if variants is None:
            raise self._upstream.malformed('a completion without a "variants" list')
        return variants

    async def aclose(self) -> None:
        await self._upstream.aclose()


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


def _unfenced(content: str) -> str:
    """The JSON inside a Markdown code fence, which some models add anyway."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text
