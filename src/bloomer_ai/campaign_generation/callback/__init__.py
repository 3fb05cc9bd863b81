"""Who may deliver a generation's result (``access.SignedCallback``)."""
