"""Errors of the Lilli agent: each a status and a code, rendered in the one error body."""

from __future__ import annotations

from bloomer_ai.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed


class AgentDisabled(Forbidden):
    code = "agent_disabled"
    message = "The Lilli agent is switched off for this shop."


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
    message = "The conversation does not exist."


class ConversationCustomerMismatch(Conflict):
    code = "conversation_customer_mismatch"
    message = "The conversation belongs to another customer."


class InvalidAgentInput(ValidationFailed):
    """Input whose limits come from settings (message length), so not from the schema."""


class ProviderFailed(AppError):
    status_code = 502
    code = "provider_error"
    message = "The AI provider failed to answer; your message was kept."


class ProviderTimedOut(AppError):
    status_code = 504
    code = "provider_timeout"
    message = "The AI provider did not answer in time; your message was kept."
