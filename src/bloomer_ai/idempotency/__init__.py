"""The idempotency store: one answer per ``Idempotency-Key`` (and per caller key of a tool).

``store`` holds the SQL (claim a key, record its answer, purge expired keys);
``dependency`` makes any POST route honour the ``Idempotency-Key`` header.
"""
