from __future__ import annotations

from bloomer_ai.errors import NotFound, ValidationFailed


class VoiceCallNotFound(NotFound):
    code = "voice_call_not_found"
    message = "The call does not exist."


class InvalidVoiceQuery(ValidationFailed):
    code = "validation_error"
    message = "The request is not valid."
