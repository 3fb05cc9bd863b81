"""Durable AI campaign copy generation (docs/campaigns.md, "Generation")."""
