"""The shop tools over the Model Context Protocol, at ``/api/ai/mcp`` (``docs/tools.md``)."""
