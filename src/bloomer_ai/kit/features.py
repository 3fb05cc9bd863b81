"""Feature flags: a switched-off feature answers 404 feature_disabled on all its routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import Request

from bloomer_ai.config import Settings
from bloomer_ai.errors import FeatureDisabled

Feature = Literal["agent", "voice", "support", "routing", "campaigns"]


def feature_enabled(settings: Settings, feature: Feature) -> bool:
    return bool(getattr(settings.features, _switch(feature)))


def _switch(feature: Feature) -> str:
    return f"ai_{feature}_enabled"


def require_feature(feature: Feature) -> Callable[[Request], Awaitable[None]]:
    switch = _switch(feature)  # named once: read on every request of the feature's routes

    async def check(request: Request) -> None:
        if not getattr(request.app.state.settings.features, switch):
            raise FeatureDisabled(f"The {feature} feature is switched off.")

    check.__name__ = f"require_feature_{feature}"
    return check
