"""The yardstick: a bare FastAPI endpoint with a constant small JSON and no database.

``POST /orders`` is a second, like-for-like yardstick for JSON POST routes: FastAPI
parsing and validating an order-like body (the shape ``routing/evaluate`` takes) into a
pydantic model, then answering the same constant JSON.

Served by the same ASGI server, worker count and load as the service in the same run, so
every figure of the service can be read as a ratio to what FastAPI itself costs here.
"""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/")
async def bare() -> dict[str, str]:
    return {"status": "ok"}


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class OrderItem(_Camel):
    product_type: str
    sku: str | None = None
    name: str | None = None
    quantity: int = 1
    unit_price: int = 0


class Order(_Camel):
    items: list[OrderItem] | None = None
    delivery_zone: str | None = None
    delivery_date: date | None = None
    delivery_time: str | None = None
    total: int | None = None
    tags: list[str] | None = None


@app.post("/orders")
async def bare_post(order: Order) -> dict[str, str]:
    """The framework's own share of a JSON POST: parse and validate an order-like body."""
    return {"status": "ok"}
