"""The generation's runs and state changes (``runs``) and its jobs (``tasks``)."""
