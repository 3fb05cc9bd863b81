"""The yardstick: a bare FastAPI endpoint with a constant small JSON and no database.

``POST /orders`` is a second, like-for-like yardstick for JSON POST routes: FastAPI
parsing and validating the body ``routing/evaluate`` takes into the same pydantic model
(``EvaluateRequest``), then answering the same constant JSON.

Served by the same ASGI server, worker count and load as the service in the same run, so
every figure of the service can be read as a ratio to what FastAPI itself costs here.
"""

from __future__ import annotations

from fastapi import FastAPI

from bloomer_ai.routing.schemas import EvaluateRequest  # the very model evaluate validates

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/")
async def bare() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/orders")
async def bare_post(order: EvaluateRequest) -> dict[str, str]:
    """The framework's own share of a JSON POST: parse and validate an order-like body."""
    return {"status": "ok"}
