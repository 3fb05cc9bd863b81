"""The yardstick: a bare FastAPI endpoint with a constant small JSON and no database.

Served by the same ASGI server, worker count and load as the service in the same run, so
every figure of the service can be read as a ratio to what FastAPI itself costs here.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/")
async def bare() -> dict[str, str]:
    return {"status": "ok"}
