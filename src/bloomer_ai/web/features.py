"""Feature flags: a switched-off feature answers 404 feature_disabled on all its routes
(``Access(feature=…)`` checks it before anything else)."""

from __future__ import annotations

from typing import Literal

from bloomer_ai.config import Settings

Feature = Literal["agent", "voice", "support", "routing", "campaigns", "tools"]


def feature_switch(feature: Feature) -> str:
    """The settings field that switches ``feature`` (``AI_<FEATURE>_ENABLED``)."""
    return f"ai_{feature}_enabled"


def feature_enabled(settings: Settings, feature: Feature) -> bool:
    return bool(getattr(settings.features, feature_switch(feature)))
