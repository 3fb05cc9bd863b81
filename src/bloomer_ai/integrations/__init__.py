"""Integrations: a shop's connections to outside providers, and the inbound webhooks they
send (``inbound/``)."""
