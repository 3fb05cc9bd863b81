from __future__ import annotations

from bloomer_ai.errors import NotFound


class OrderNotFound(NotFound):
    code = "order_not_found"
    message = "The order does not exist."
