from __future__ import annotations

from bloomer_ai.errors import NotFound


class ProductNotFound(NotFound):
    code = "product_not_found"
    message = "The product does not exist."
