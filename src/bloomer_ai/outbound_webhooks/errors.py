from __future__ import annotations

from bloomer_ai.errors import NotFound, ValidationFailed


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    message = "The webhook endpoint does not exist."


class EventNotFound(NotFound):
    code = "webhook_event_not_found"
    message = "The webhook event does not exist."


class InvalidEndpointUrl(ValidationFailed):
    code = "invalid_webhook_url"
    message = "The webhook endpoint's URL cannot be used."
