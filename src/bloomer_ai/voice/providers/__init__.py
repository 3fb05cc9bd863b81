"""The voice providers, one module each: how a delivery maps onto our call update
(``to_update``) and how the provider wants its answer. Signatures and delivery ids are
the shared inbound mechanism's (``integrations.inbound``)."""

from __future__ import annotations

from bloomer_ai.voice.providers.base import CallUpdate, ToolRequest, VoiceSettings

__all__ = ["CallUpdate", "ToolRequest", "VoiceSettings"]
