"""Generation providers behind one interface (``base.Generator``), picked by ``AI_PROVIDER``."""

from __future__ import annotations

from bloomer_ai.campaign_generation.providers.base import (
    Accepted,
    Brief,
    Generator,
    Variant,
    unusable,
    usable_variants,
    variants_of,
)
from bloomer_ai.campaign_generation.providers.builtin import BuiltinGenerator
from bloomer_ai.campaign_generation.providers.lilli import LilliGenerator
from bloomer_ai.campaign_generation.providers.openai import OpenAIGenerator
from bloomer_ai.campaigns.providers.base import ShopFacts
from bloomer_ai.config import Settings

__all__ = [
    "Accepted",
    "Brief",
    "BuiltinGenerator",
    "Generator",
    "LilliGenerator",
    "OpenAIGenerator",
    "ShopFacts",
    "Variant",
    "generator_from_settings",
    "unusable",
    "usable_variants",
    "variants_of",
]


def generator_from_settings(settings: Settings) -> Generator:
    """The generator of ``AI_PROVIDER`` (a worker makes one and closes it when it stops),
    bounded by CAMPAIGN_GENERATION_TIMEOUT_SECONDS. A provider missing its URL falls back
    to the builtin templates: the start-up checks refuse that configuration in production."""
    ai = settings.ai
    timeout = ai.campaign_generation_timeout_seconds
    if ai.ai_provider == "lilli" and ai.lilli_base_url and ai.lilli_api_key:
        return LilliGenerator(
            base_url=ai.lilli_base_url,
            api_key=ai.lilli_api_key.get_secret_value(),
            timeout_s=timeout,
        )
    if ai.ai_provider == "openai" and ai.openai_base_url:
        return OpenAIGenerator(
            base_url=ai.openai_base_url,
            api_key=ai.openai_api_key.get_secret_value() if ai.openai_api_key else None,
            model=ai.openai_model,
            timeout_s=timeout,
        )
    return BuiltinGenerator()
