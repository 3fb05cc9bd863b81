from __future__ import annotations

from bloomer_ai.errors import NotFound, ValidationFailed


class RuleNotFound(NotFound):
    code = "routing_rule_not_found"
    message = "The routing rule does not exist."


class OrderNotFound(NotFound):
    code = "order_not_found"
    message = "The order does not exist."


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    message = "The customer does not exist."


class InvalidRule(ValidationFailed):
    code = "invalid_rule"
    message = "The routing rule is not valid."
