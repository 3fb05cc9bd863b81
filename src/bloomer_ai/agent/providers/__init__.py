"""AI providers behind one interface, and the factory that picks one from settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bloomer_ai.agent.providers.base import (
    AIProvider,
    ChatTurn,
    OrderFacts,
    ProviderError,
    ProviderTimeout,
    ShopContext,
    ShopTools,
    ToolReply,
    ToolSpec,
)
from bloomer_ai.agent.providers.builtin import BuiltinProvider
from bloomer_ai.agent.providers.lilli import LilliProvider
from bloomer_ai.agent.providers.openai import OpenAIProvider
from bloomer_ai.config import Settings
from bloomer_ai.kit.time import utcnow

__all__ = [
    "AIProvider",
    "BuiltinProvider",
    "ChatTurn",
    "LilliProvider",
    "OpenAIProvider",
    "OrderFacts",
    "ProviderConfigError",
    "ProviderError",
    "ProviderTimeout",
    "ShopContext",
    "ShopTools",
    "ToolReply",
    "ToolSpec",
    "build_provider",
    "provider_from_settings",
]

PROVIDER_KINDS = ("lilli", "openai", "builtin")


class ProviderConfigError(ValueError):
    """The chosen provider lacks a setting; the message names the variable, never a value."""


def build_provider(
    kind: str,
    *,
    lilli_base_url: str | None,
    lilli_api_key: str | None,
    lilli_timeout_s: float,
    openai_base_url: str | None,
    openai_api_key: str | None,
    openai_model: str,
    timeout_s: float,
    now: Callable[[], datetime],
    tool_rounds: int = 4,
    tool_budget_s: float = 30.0,
) -> AIProvider:
    """The provider named by ``AI_PROVIDER``. Call ``aclose()`` on it at shutdown."""
    if kind == "builtin":
        return BuiltinProvider(now=now)
    if kind == "lilli":
        if not lilli_base_url:
            raise ProviderConfigError("LILLI_BASE_URL is required for AI_PROVIDER=lilli")
        if not lilli_api_key:
            raise ProviderConfigError("LILLI_API_KEY is required for AI_PROVIDER=lilli")
        return LilliProvider(
            base_url=lilli_base_url,
            api_key=lilli_api_key,
            timeout_s=lilli_timeout_s,
            now=now,
            tool_rounds=tool_rounds,
            tool_budget_s=tool_budget_s,
        )
    if kind == "openai":
        if not openai_base_url:
            raise ProviderConfigError("OPENAI_BASE_URL is required for AI_PROVIDER=openai")
        if not openai_model:
            raise ProviderConfigError("OPENAI_MODEL is required for AI_PROVIDER=openai")
        return OpenAIProvider(
            base_url=openai_base_url,
            api_key=openai_api_key,
            model=openai_model,
            timeout_s=timeout_s,
            now=now,
            tool_rounds=tool_rounds,
            tool_budget_s=tool_budget_s,
        )
    raise ProviderConfigError(f"AI_PROVIDER must be one of {', '.join(PROVIDER_KINDS)}")


def provider_from_settings(settings: Settings) -> AIProvider:
    """The provider named by AI_PROVIDER (opened by the app's lifespan, closed at its end).

    One timeout, LILLI_TIMEOUT_SECONDS, bounds the lilli and openai providers alike.
    """
    ai = settings.ai
    return build_provider(
        ai.ai_provider,
        lilli_base_url=ai.lilli_base_url,
        lilli_api_key=ai.lilli_api_key.get_secret_value() if ai.lilli_api_key else None,
        lilli_timeout_s=ai.lilli_timeout_seconds,
        openai_base_url=ai.openai_base_url,
        openai_api_key=ai.openai_api_key.get_secret_value() if ai.openai_api_key else None,
        openai_model=ai.openai_model,
        timeout_s=ai.lilli_timeout_seconds,
        now=utcnow,
        tool_rounds=ai.agent_tool_rounds,
        tool_budget_s=ai.agent_tool_budget_seconds,
    )
