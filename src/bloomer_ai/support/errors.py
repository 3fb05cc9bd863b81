from __future__ import annotations

from bloomer_ai.errors import NotFound, ValidationFailed


class SupportEventNotFound(NotFound):
    code = "support_event_not_found"
    message = "The support event does not exist."


class SupportRuleNotFound(NotFound):
    code = "support_rule_not_found"
    message = "The support automation rule does not exist."


class SupportTaskNotFound(NotFound):
    code = "support_task_not_found"
    message = "The support task does not exist."


class InvalidSupportRule(ValidationFailed):
    code = "invalid_rule"
    message = "The support automation rule is not valid."


class InvalidSupportQuery(ValidationFailed):
    code = "validation_error"
    message = "The request is not valid."
