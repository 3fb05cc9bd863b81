from __future__ import annotations

from bloomer_ai.errors import NotFound


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    message = "The customer does not exist."
