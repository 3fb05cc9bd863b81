"""Delivering events, with a worker on committed rows (the worker database) and a receiver
on loopback: signed per Standard Webhooks (verified by the reference library), the same
``webhook-id`` on every attempt, retried with backoff after a failure, a 410 disabling the
endpoint, given up after the retry window, two signatures during a secret's overlap; the
web app's platform endpoint gets every event; the retention purge crosses shops only
through its SECURITY DEFINER function."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from bloomer_ai.config import JobSettings, OutboundWebhookSettings, Settings
from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
from bloomer_ai.jobs.worker import WorkerOptions, WorkerSupervisor
from bloomer_ai.main import task_modules
from bloomer_ai.models import Shop, WebhookAttempt, WebhookEndpoint, WebhookEvent
from bloomer_ai.orders.service import DraftItem, OrderDraft, create_order
from bloomer_ai.outbound_webhooks import service
from bloomer_ai.outbound_webhooks.delivery.signing import new_secret
from bloomer_ai.outbound_webhooks.repository import unscoped_purge_events
from bloomer_ai.outbound_webhooks.schemas import EventType
from bloomer_ai.routing.engine.rule_sets import RuleSetCache
from bloomer_ai.routing.service import route_suggester
from conftest import make_settings
from factories.core import create_shop
from support.processes import free_port
from support.receiver import Answer, Plan, Received, Receiver, serving
from support.workers import FAST_JOBS, worker_environment, worker_process

PLATFORM_SECRET = new_secret()


@pytest.fixture
async def shop(worker_owner_engine: AsyncEngine) -> AsyncIterator[Shop]:
    factory = make_operator_session_factory(worker_owner_engine)
    async with unit_of_work(factory) as session:
        shop = await create_shop(session, country="NL")
    yield shop
    async with unit_of_work(factory) as session:
        await session.execute(delete(Shop).where(Shop.id == shop.id))


class World:
    """A receiver (the shop's endpoint at /shop, the web app at /platform), settings
    pointing at it, and a worker to run until something holds."""

    def __init__(
        self,
        database: DatabaseTarget,
        sessions: async_sessionmaker[AsyncSession],
        owner: AsyncEngine,
        shop: Shop,
    ) -> None:
        self.database, self.sessions, self.owner, self.shop = database, sessions, owner, shop
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.plans: dict[str, Plan] = {}
        self.receiver = Receiver(self._plan)
        self.settings = self.settings_with()

    def _plan(self, request: Received) -> Answer | Awaitable[Answer]:
        plan = self.plans.get(request.webhook_id)
        return plan(request) if plan else Answer(200)

    def settings_with(self, **outbound: Any) -> Settings:
        values: dict[str, Any] = {
            "web_app_webhook_url": f"{self.base}/platform",
            "web_app_webhook_secret": PLATFORM_SECRET,
            "webhook_retry_first_seconds": 0.2,
            "webhook_timeout_seconds": 2.0,
            **outbound,
        }
        return make_settings(
            self.database.operator_url,
            jobs=JobSettings(_env_file=None, **FAST_JOBS),
            outbound=OutboundWebhookSettings(_env_file=None, **values),
        )

    def at(self, path: str, event_id: uuid.UUID) -> list[Received]:
        """Requests for this event at ``path`` (jobs left by earlier tests may call too)."""
        return [
            r for r in self.receiver.received if r.webhook_id == str(event_id) and r.path == path
        ]

    async def endpoint(self, **values: Any) -> tuple[WebhookEndpoint, str]:
        async with unit_of_work(self.sessions, shop_id=self.shop.id) as session:
            return await service.create_endpoint(
                session,
                url=values.pop("url", f"{self.base}/shop"),
                description=None,
                event_types=values.pop("event_types", []),
                enabled=True,
                private_allowed=True,
                keyring=self.settings.auth.keyring(),
            )

    async def event(self, payload: dict[str, Any] | None = None) -> WebhookEvent:
        async with unit_of_work(self.sessions, shop_id=self.shop.id) as session:
            return await service.record_event(
                session, self.shop.id, "integration.updated", payload or {"integration": {}}
            )

    async def attempts(self, event_id: uuid.UUID) -> list[WebhookAttempt]:
        async with self.owner.connect() as connection:
            rows = await connection.execute(
                select(WebhookAttempt)
                .where(WebhookAttempt.event_id == event_id)
                .order_by(WebhookAttempt.attempted_at)
            )
            return list(rows)

    async def jobs(self, event_id: uuid.UUID) -> list[str]:
        async with self.owner.connect() as connection:
            rows = await connection.execute(
                text("SELECT status FROM procrastinate_jobs WHERE args->>'event_id' = :id"),
                {"id": str(event_id)},
            )
            return sorted(str(row.status) for row in rows)

    async def work_until(
        self, check: Callable[[], Awaitable[bool]], what: str, seconds: float = 20
    ) -> None:
        worker = WorkerSupervisor(
            self.settings,
            self.database,
            options=WorkerOptions(concurrency=4, periodic=False),
            task_modules=task_modules(),
        )
        worker.start()
        try:
            deadline = time.monotonic() + seconds
            while not await check():
                assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
                await asyncio.sleep(0.1)
        finally:
            await worker.stop()

    def finished(self, event_id: uuid.UUID, count: int = 2) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            statuses = await self.jobs(event_id)
            return len(statuses) == count and "todo" not in statuses and "doing" not in statuses

        return check


@pytest.fixture
async def world(
    worker_database, worker_sessions, worker_owner_engine, shop
) -> AsyncIterator[World]:
    world = World(worker_database, worker_sessions, worker_owner_engine, shop)
    async with serving(world.receiver, port=world.port):
        yield world


def verified(request: Received, secret: str) -> dict[str, Any]:
    """The body, as a receiver gets it after the reference library verified it."""
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


async def test_an_order_created_reaches_the_shops_endpoint_and_the_web_app_signed(world) -> None:
    endpoint, secret = await world.endpoint(event_types=[EventType.ORDER_CREATED])
    async with unit_of_work(world.sessions, shop_id=world.shop.id) as session:
        order, _items = await create_order(
            session,
            OrderDraft(
                items=[DraftItem(product_type="bouquet", name="Tulips", unit_price=1950)],
                source="voice",
                delivery_date=date(2026, 12, 24),
            ),
            suggest_route=route_suggester(RuleSetCache(trust_feed=False)),
        )
        event_id = await session.scalar(
            select(WebhookEvent.id).where(WebhookEvent.type == "order.created")
        )
    assert event_id is not None
    await world.work_until(world.finished(event_id), "both deliveries end")

    shop_request, platform_request = world.at("/shop", event_id) + world.at("/platform", event_id)
    body = verified(shop_request, secret)
    assert verified(platform_request, PLATFORM_SECRET) == body
    assert body["id"] == shop_request.webhook_id == str(event_id)
    assert (body["type"], body["shopId"]) == ("order.created", str(world.shop.id))
    order_data = body["data"]["order"]
    assert (order_data["id"], order_data["number"]) == (str(order.id), order.number)
    assert order_data["deliveryDate"] == "2026-12-24" and order_data["total"] == 1950
    assert order_data["items"][0]["name"] == "Tulips"
    assert shop_request.body == platform_request.body  # the same bytes to everyone
    attempts = await world.attempts(event_id)
    assert {(a.endpoint_id, a.outcome, a.status_code) for a in attempts} == {
        (endpoint.id, "succeeded", 200),
        (None, "succeeded", 200),
    }
    assert await world.jobs(event_id) == ["succeeded", "succeeded"]


async def test_a_failed_attempt_is_retried_with_the_same_webhook_id(world) -> None:
    endpoint, secret = await world.endpoint()
    event = await world.event()
    world.plans[str(event.id)] = lambda r: Answer(503 if r.seen_before == 0 else 200)
    await world.work_until(world.finished(event.id), "the deliveries end")
    first, second = world.at("/shop", event.id)
    assert first.webhook_id == second.webhook_id == str(event.id)
    assert first.body == second.body
    assert verified(second, secret)["data"] == {"integration": {}}
    attempts = [a for a in await world.attempts(event.id) if a.endpoint_id == endpoint.id]
    assert [(a.attempt, a.outcome, a.status_code) for a in attempts] == [
        (1, "failed", 503),
        (2, "succeeded", 200),
    ]


async def test_a_410_disables_the_endpoint_and_stops_its_deliveries(world) -> None:
    endpoint, _secret = await world.endpoint()
    event = await world.event()
    world.plans[str(event.id)] = lambda r: Answer(410 if r.path == "/shop" else 200)
    await world.work_until(world.finished(event.id), "the deliveries end")
    assert len(world.at("/shop", event.id)) == 1  # no retry after a 410
    async with world.owner.connect() as connection:
        row = (
            await connection.execute(
                select(WebhookEndpoint.enabled, WebhookEndpoint.disabled_reason).where(
                    WebhookEndpoint.id == endpoint.id
                )
            )
        ).one()
    assert tuple(row) == (False, "gone")
    later = await world.event()
    await world.work_until(world.finished(later.id, count=1), "the web app's delivery ends")
    assert world.at("/shop", later.id) == [] and len(world.at("/platform", later.id)) == 1


async def test_a_delivery_is_given_up_after_the_retry_window(world) -> None:
    world.settings = world.settings_with(webhook_retry_for_seconds=1.0)
    await world.endpoint()
    event = await world.event()
    world.plans[str(event.id)] = lambda r: Answer(500 if r.path == "/shop" else 200)
    await world.work_until(world.finished(event.id), "the deliveries end")
    assert await world.jobs(event.id) == ["failed", "succeeded"]
    tries = len(world.at("/shop", event.id))
    assert 2 <= tries <= 4  # 0.2 s, 0.6 s, 1.8 s … apart, within one second of the event


async def test_during_a_rotation_both_secrets_sign(world) -> None:
    endpoint, old = await world.endpoint()
    async with unit_of_work(world.sessions, shop_id=world.shop.id) as session:
        rotated, new = await service.rotate_secret(
            session, str(endpoint.id), overlap_seconds=60, keyring=world.settings.auth.keyring()
        )
    assert new != old and rotated.previous_secret_expires_at is not None
    event = await world.event()
    await world.work_until(world.finished(event.id), "the deliveries end")
    (request,) = world.at("/shop", event.id)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(request, new) == verified(request, old)


async def test_an_unset_web_app_endpoint_is_skipped(world) -> None:
    world.settings = world.settings_with(web_app_webhook_url=None)
    event = await world.event()
    await world.work_until(world.finished(event.id, count=1), "the job ends")
    assert await world.jobs(event.id) == ["succeeded"]
    assert world.at("/platform", event.id) == [] and await world.attempts(event.id) == []


async def test_a_rolled_back_order_announces_nothing(world) -> None:
    await world.endpoint()
    with pytest.raises(RuntimeError):
        async with unit_of_work(world.sessions, shop_id=world.shop.id) as session:
            await create_order(
                session,
                OrderDraft(items=[DraftItem(product_type="bouquet", name="Lilies")], source="api"),
                suggest_route=route_suggester(RuleSetCache(trust_feed=False)),
            )
            raise RuntimeError("the request fails after the order")
    async with world.owner.connect() as connection:
        events = await connection.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.shop_id == world.shop.id)
        )
        jobs = await connection.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE args->>'shop_id' = :shop"),
            {"shop": str(world.shop.id)},
        )
    assert (events, jobs) == (0, 0)


async def test_the_purge_crosses_shops_only_through_its_function(
    worker_sessions, worker_owner_engine
) -> None:
    factory = make_operator_session_factory(worker_owner_engine)
    async with unit_of_work(factory) as session:
        shops = [await create_shop(session), await create_shop(session)]
        for shop in shops:
            for age in ("40 days", "1 day"):
                await session.execute(
                    text(
                        "INSERT INTO webhook_events (id, shop_id, type, payload, created_at) "
                        "VALUES (:id, :shop, 'order.created', '{}', now() - CAST(:age AS interval))"
                    ),
                    {"id": uuid.uuid4(), "shop": shop.id, "age": age},
                )
    try:
        # With no shop bound the service's role sees no shop's rows: a DELETE does nothing.
        async with unit_of_work(worker_sessions) as session:
            plain = await session.execute(text("DELETE FROM webhook_events"))
            assert plain.rowcount == 0
            assert await unscoped_purge_events(session, 30) >= 2
        async with worker_owner_engine.connect() as connection:
            left = await connection.execute(
                select(WebhookEvent.shop_id).where(WebhookEvent.shop_id.in_([s.id for s in shops]))
            )
            assert sorted(row.shop_id for row in left) == sorted(s.id for s in shops)
    finally:
        async with unit_of_work(factory) as session:
            await session.execute(delete(Shop).where(Shop.id.in_([s.id for s in shops])))


async def test_the_worker_command_delivers_and_stops_on_sigterm(world) -> None:
    """`bloomer-ai worker` itself, in a process of its own."""
    env = worker_environment(
        world.database,
        WEB_APP_WEBHOOK_URL=f"{world.base}/platform",
        WEB_APP_WEBHOOK_SECRET=PLATFORM_SECRET,
    )
    command = [str(Path(sys.executable).parent / "bloomer-ai"), "worker", "--concurrency", "2"]
    event = await world.event()
    with worker_process(command, env) as process:
        deadline = time.monotonic() + 60
        while not world.at("/platform", event.id):
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the worker command delivered nothing"
            await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 20) == 0
    assert verified(world.at("/platform", event.id)[0], PLATFORM_SECRET)["id"] == str(event.id)
