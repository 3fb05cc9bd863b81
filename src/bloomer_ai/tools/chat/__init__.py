"""The shop tools as a chat turn's tool box (``agent.providers.ToolBox``)."""
