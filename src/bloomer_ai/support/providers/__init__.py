"""The support platforms, one module each, behind one small interface (``base``).

Each knows how its sender signs (``verify``, through the shared checks of
``integrations.inbound``), which id makes a repeat a repeat (``delivery_id``), and how
its payload maps onto our event (``to_event``). ``PROVIDERS`` is the registry.
"""

from __future__ import annotations

from bloomer_ai.support.providers import chatwoot, lilli, zendesk
from bloomer_ai.support.providers.base import SupportProvider

PROVIDERS: dict[str, SupportProvider] = {
    lilli.PROVIDER.name: lilli.PROVIDER,
    chatwoot.PROVIDER.name: chatwoot.PROVIDER,
    zendesk.PROVIDER.name: zendesk.PROVIDER,
}

__all__ = ["PROVIDERS", "SupportProvider"]
