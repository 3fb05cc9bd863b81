from __future__ import annotations

from bloomer_ai.errors import Conflict, NotFound, ValidationFailed


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    message = "The webhook endpoint does not exist."


class EventNotFound(NotFound):
    code = "webhook_event_not_found"
    message = "The webhook event does not exist."


class InvalidEndpointUrl(ValidationFailed):
    code = "invalid_webhook_url"
    message = "The webhook endpoint's URL cannot be used."


class EndpointSecretUnreadable(Conflict):
    code = "webhook_secret_unreadable"
    message = (
        "The endpoint's signing secret was sealed with a key this service does not hold "
        "(DATA_ENCRYPTION_KEY): delete the endpoint and add it again."
    )
