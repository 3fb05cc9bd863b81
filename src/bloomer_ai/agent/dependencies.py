"""The AI provider as a process-wide resource, and the chat runner routes get."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bloomer_ai.agent.chat import ChatRunner
from bloomer_ai.agent.providers import AIProvider, build_provider
from bloomer_ai.config import Settings
from bloomer_ai.kit.time import utcnow


def provider_from_settings(settings: Settings) -> AIProvider:
    """The provider named by AI_PROVIDER (``app.state.ai_provider``; closed at shutdown).

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
    )


async def chat_runner(request: Request) -> ChatRunner:
    state = request.app.state
    return ChatRunner(state.session_factory, state.ai_provider, state.settings.ai)


Runner = Annotated[ChatRunner, Depends(chat_runner)]
