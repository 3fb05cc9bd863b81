"""AI campaign suggestions (BLMR-AI-501): occasions, audiences and send times from the shop's
own data, copy by rules that a provider may rewrite (``docs/campaigns.md``)."""
