"""The service as the bench serves it: ``create_app`` plus a bench-only router.

``uvicorn --factory bench.app_factory:create_bench_app`` (or granian's ``--factory``)
builds the real application with settings from the environment that ``bench.run`` sets
(``DATABASE_URL`` of the bench database, test secrets, logging at INFO as JSON). The extra
router under ``/_bench`` gives scenarios that have no public route yet (one read of a shop
row; one insert, with or without a job deferred in its transaction) a way in, through the
service's own per-request session; it is never part of the service itself.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, FastAPI, Request

from bloomer_ai.config import load_settings
from bloomer_ai.db.engine import resolve_database
from bloomer_ai.main import create_app
from bloomer_ai.outbound_webhooks.delivery.tasks import deliver
from bloomer_ai.outbound_webhooks.repository import EventRepository
from bloomer_ai.shops.service import shop_profile
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession as DbSession
from bloomer_ai.web.unit_of_work import bind_request_shop

bench_router = APIRouter(prefix="/_bench", route_class=JsonRoute, include_in_schema=False)


@bench_router.get("/shops/{shop_id}")
async def read_shop(shop_id: uuid.UUID, request: Request, session: DbSession) -> dict[str, str]:
    # The request's unit of work (begin with the shop set, select, commit), as every real
    # endpoint has it, through the shops service; the shop comes from the path here.
    bind_request_shop(request, shop_id)
    shop = await shop_profile(session)
    return {"id": str(shop.id), "name": shop.name, "country": shop.country}


@bench_router.post("/shops/{shop_id}/insert")
async def insert_event(shop_id: uuid.UUID, request: Request, session: DbSession) -> dict[str, str]:
    # One insert in the request's unit of work: the yardstick of the row below.
    bind_request_shop(request, shop_id)
    event = await EventRepository(session).insert("order.created", {"bench": True})
    return {"id": str(event.id)}


@bench_router.post("/shops/{shop_id}/insert-and-defer")
async def insert_event_and_defer(
    shop_id: uuid.UUID, request: Request, session: DbSession
) -> dict[str, str]:
    # The same insert, and its delivery job deferred on the request's own connection in
    # its transaction (what record_event does for the web app's endpoint).
    bind_request_shop(request, shop_id)
    event = await EventRepository(session).insert("order.created", {"bench": True})
    await deliver.defer(session, event_id=str(event.id), endpoint_id=None)
    return {"id": str(event.id)}


def create_bench_app() -> FastAPI:
    settings = load_settings()
    if not settings.db.database_url:
        raise SystemExit("bench: DATABASE_URL must name the bench database")
    app = create_app(settings, database=resolve_database(settings.db))
    app.include_router(bench_router)
    # FastAPI tries routes in order: the bench routes stand in for busy routes, and the
    # busy routes come first (main.routers), so they go first too.
    added = len(bench_router.routes)
    app.router.routes[:0] = [app.router.routes.pop() for _ in range(added)][::-1]
    return app
