"""Copy writers behind one interface (``base.CopyWriter``), picked by ``AI_PROVIDER``."""

from __future__ import annotations

from bloomer_ai.campaigns.providers.base import (
    CopyDraft,
    CopyRequest,
    CopyWriter,
    RewrittenCopy,
    RulesOnly,
    ShopFacts,
    acceptable,
)
from bloomer_ai.campaigns.providers.lilli import LilliCopyWriter
from bloomer_ai.campaigns.providers.openai import OpenAICopyWriter
from bloomer_ai.config import Settings

__all__ = [
    "CopyDraft",
    "CopyRequest",
    "CopyWriter",
    "LilliCopyWriter",
    "OpenAICopyWriter",
    "RewrittenCopy",
    "RulesOnly",
    "ShopFacts",
    "acceptable",
    "copy_writer_from_settings",
]


def copy_writer_from_settings(settings: Settings) -> CopyWriter:
    """The writer of ``AI_PROVIDER`` (opened by the app's lifespan, closed at its end),
    bounded by CAMPAIGN_COPY_TIMEOUT_SECONDS. A provider missing its URL writes nothing:
    the chat provider's own check refuses that configuration at start."""
    ai = settings.ai
    timeout = ai.campaign_copy_timeout_seconds
    if ai.ai_provider == "lilli" and ai.lilli_base_url and ai.lilli_api_key:
        return LilliCopyWriter(
            base_url=ai.lilli_base_url,
            api_key=ai.lilli_api_key.get_secret_value(),
            timeout_s=timeout,
        )
    if ai.ai_provider == "openai" and ai.openai_base_url:
        return OpenAICopyWriter(
            base_url=ai.openai_base_url,
            api_key=ai.openai_api_key.get_secret_value() if ai.openai_api_key else None,
            model=ai.openai_model,
            timeout_s=timeout,
        )
    return RulesOnly()
