from __future__ import annotations

from bloomer_ai.errors import NotFound, ValidationFailed


class RuleNotFound(NotFound):
    code = "routing_rule_not_found"
    message = "The routing rule does not exist."


class InvalidRule(ValidationFailed):
    code = "invalid_rule"
    message = "The routing rule is not valid."
