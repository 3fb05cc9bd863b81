from __future__ import annotations

from bloomer_ai.errors import ValidationFailed


class UnknownOccasion(ValidationFailed):
    """422 with the field: the occasion is not one of the shop's country."""

    code = "validation_error"
    message = "That occasion is not on this shop's calendar."
