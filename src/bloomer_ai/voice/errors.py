from __future__ import annotations

from bloomer_ai.errors import NotFound


class VoiceCallNotFound(NotFound):
    code = "voice_call_not_found"
    message = "The call does not exist."
