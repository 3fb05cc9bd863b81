from __future__ import annotations

from bloomer_ai.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed


class IntegrationNotFound(NotFound):
    code = "integration_not_found"
    message = "The integration does not exist."


class InvalidIntegration(ValidationFailed):
    code = "invalid_integration"
    message = "The integration is not valid."


class SecretsUnreadable(Conflict):
    code = "secrets_unreadable"
    message = (
        "The integration's secrets were sealed with a key this service does not hold "
        "(DATA_ENCRYPTION_KEY): send every secret again."
    )


class WebhookNotAuthenticated(Unauthorized):
    """No signature, a signature that does not verify, an unknown or disabled integration,
    or a provider switched off on the platform route: one answer for all, so the answer
    tells nothing about which integrations exist."""

    code = "unauthorized"
    message = "The webhook's signature is missing or does not verify."


class DeliveryNamesAnotherShop(Forbidden):
    code = "delivery_names_another_shop"
    message = "The delivery names a shop other than the one it was sent for."


class DeliveryShopUnknown(NotFound):
    code = "shop_not_found"
    message = "The delivery names no shop this service knows (no shopId, number or account)."


class DeliveryIdTaken(Conflict):
    code = "delivery_id_taken"
    message = "This delivery id was already received for another shop."
