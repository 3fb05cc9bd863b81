from __future__ import annotations

from bloomer_ai.errors import Conflict, NotFound, ValidationFailed


class GenerationNotFound(NotFound):
    code = "generation_not_found"
    message = "The campaign generation request does not exist."


class GenerationFinished(Conflict):
    """409: the request is completed, failed or cancelled; nothing more may change it."""

    code = "generation_finished"
    message = "The campaign generation request is finished and cannot be changed."


class CallbackTooLate(Conflict):
    code = "callback_deadline_passed"
    message = "The deadline for this generation's result has passed."


class UnknownOccasion(ValidationFailed):
    """422 with the field: the occasion is not one of the shop's country."""

    code = "validation_error"
    message = "That occasion is not on this shop's calendar."


class UnusableResult(ValidationFailed):
    """422 with the field: a delivered variant breaks the channel's limits or does not
    name the shop."""

    code = "validation_error"
    message = "The result does not fit the channel's limits."


class ResultForAnotherRequest(ValidationFailed):
    """422: a signed result must name the request of its URL in its body (the signature
    covers the body only), and a named one must match."""

    code = "validation_error"
    message = "The result does not name this generation request."
