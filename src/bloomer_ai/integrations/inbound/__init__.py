"""Inbound webhooks of integrations, shared by voice and support.

``POST /api/ai/{voice|support}/webhook/{integrationId}`` and the platform's
``POST /api/ai/{voice|support}/webhook`` go through one mechanism: ``access`` verifies the
signature (``providers`` knows each provider's headers, ids and where a payload names its
shop), finds and binds the shop and rate-limits it; ``receiver.receive_delivery``
records the delivery in the inbox and hands it, once, to the handler registered for its
kind and provider (``handlers``). Voice and support register their handlers there.
"""
