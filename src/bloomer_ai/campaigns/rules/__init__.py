"""The rules of campaign suggestions, pure and without I/O: the occasion calendar per
country, the audience segments' definitions, the send-time rule, the copy and its channel
limits (``docs/campaigns.md``)."""
