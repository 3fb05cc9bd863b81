"""Routing test data shared by the API, feed and direct-dispatch tests."""

from __future__ import annotations

RULES = "/api/ai/routing/rules"
EVALUATE = "/api/ai/routing/evaluate"

BIG_ORDERS = {
    "name": "Big orders are urgent",
    "priority": 20,
    "conditions": {">=": [{"var": "total"}, 10000]},
    "action": {"type": "prioritize", "level": "urgent"},
}
# Matches BIG_ORDERS (2 x 6000) and any rule for north bouquets.
ORDER = {
    "deliveryZone": "north",
    "items": [{"productType": "bouquet", "quantity": 2, "unitPrice": 6000}],
}
