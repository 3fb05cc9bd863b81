"""Campaign copy from any OpenAI-compatible chat-completions server.

One completion for all the drafts of a request: a system message with the rules (the
language, the limits, name the shop, invent nothing) and a user message holding the
drafts as JSON; the answer is a JSON object ``{"copies": [...]}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Unpack

from bloomer_ai.agent.providers.base import BearerUpstreamProvider, UpstreamOptions, unfenced
from bloomer_ai.campaigns.providers.base import (
    CopyRequest,
    RewrittenCopy,
    copies_of,
    request_json,
)

COMPLETIONS_PATH = "/chat/completions"
LANGUAGE_NAMES = {"en": "English", "nl": "Dutch", "de": "German", "fr": "French"}


class OpenAICopyWriter(BearerUpstreamProvider):
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

    async def rewrite(self, request: CopyRequest) -> Sequence[RewrittenCopy | None]:
        body = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": system_prompt(request)},
                {"role": "user", "content": json.dumps(request_json(request))},
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
        copies = copies_of(self._upstream.decode_json(unfenced(content), what="completion"),
                           len(request.drafts))  # fmt: skip
        if copies is None:
            raise self._upstream.malformed('a completion without a "copies" list')
        return copies


def system_prompt(request: CopyRequest) -> str:
    limits: dict[str, Any] = request.limits_json()
    if request.channel == "sms":
        body_rule = (
            "bodyPreview is the whole SMS: it must fit one SMS (160 GSM-7 characters, or 70 "
            "if it uses any other character) and keep its opt-out line"
        )
    else:
        body_rule = (
            f"bodyPreview is the e-mail preview text, at most {limits['bodyMaxChars']} characters"
        )
    return "\n".join(
        [
            f'You improve marketing copy for the flower shop "{request.shop.name}" '
            f"(country {request.shop.country}).",
            f"The user message holds {len(request.drafts)} campaign drafts as JSON. For each, "
            "write a better subject and bodyPreview for its occasion and audience.",
            f"Write in {LANGUAGE_NAMES.get(request.language, 'English')}.",
            f"The subject is at most {limits['subjectMaxChars']} characters; {body_rule}.",
            f'Name the shop "{request.shop.name}" in every draft. Use only the facts in the '
            "drafts: never invent discounts, prices, products or dates.",
            'Answer with one JSON object: {"copies": [{"subject": "...", "bodyPreview": "..."}]}'
            ", one entry per draft, in the same order.",
        ]
    )
