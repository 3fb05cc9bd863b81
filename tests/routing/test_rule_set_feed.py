"""The rule-set change feed: evaluations without a query while PostgreSQL announces changes.

These tests commit (two app instances — two processes' caches and listeners — on one
database need committed rows) and delete their shop at the end.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event, select, text, update

from bloomer_ai.db import notifications
from bloomer_ai.main import create_app
from bloomer_ai.models import RoutingRuleSetVersion, Shop
from bloomer_ai.routing.engine.rule_sets import CHANNEL as ROUTING_CHANNEL
from bloomer_ai.routing.engine.rule_sets import RuleSetCache
from conftest import make_settings
from support import committed
from support.auth import key_headers
from support.routing import BIG_ORDERS, EVALUATE, ORDER, RULES

AFTERNOON = {
    "name": "Afternoon orders are flagged",
    "priority": 10,
    "conditions": {">=": [{"var": "hour"}, 12]},
    "action": {"type": "flag", "reason": "afternoon"},
}


async def eventually(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.01)


class Instance:
    """One app (one process's cache and listener) with a client and a statement counter."""

    def __init__(self, app: Any, client: AsyncClient) -> None:
        self.app = app
        self.client = client
        self.statements: list[str] = []
        event.listen(
            app.state.engine.sync_engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_: self.statements.append(statement),
        )

    @property
    def cache(self) -> RuleSetCache:
        cache: RuleSetCache = self.app.state.rule_sets
        return cache

    async def evaluate(self, headers: dict[str, str], body: dict[str, Any] = ORDER) -> Any:
        response = await self.client.post(EVALUATE, json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def statements_of(self, action: Any) -> int:
        self.statements.clear()
        await action
        return len(self.statements)


@asynccontextmanager
async def instances(database_target, count: int) -> AsyncIterator[list[Instance]]:
    async with AsyncExitStack() as stack:
        running = []
        for index in range(count):
            app = create_app(make_settings(database_target.operator_url), database=database_target)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = AsyncClient(transport=ASGITransport(app=app), base_url=f"http://app{index}")
            await stack.enter_async_context(client)
            running.append(Instance(app, client))
        for instance in running:
            await eventually(lambda i=instance: i.cache.live, "the feed listens")
        yield running


@pytest.fixture
async def committed_shop(engine) -> AsyncIterator[tuple[uuid.UUID, dict[str, str]]]:
    async with committed.committed_shop(engine, name="Feed", timezone="UTC") as (shop, secret):
        yield shop.id, key_headers(secret)


async def test_a_warm_evaluation_reads_nothing_and_changes_arrive_by_notification(
    database_target, committed_shop
):
    shop_id, headers = committed_shop
    async with instances(database_target, 2) as (writer, reader):
        rule = (await writer.client.post(RULES, json=BIG_ORDERS, headers=headers)).json()
        assert (await reader.evaluate(headers))["matchedRuleIds"] == [rule["id"]]
        # Warm: auth from its cache, rules from theirs, the feed live — no statement at all.
        assert await reader.statements_of(reader.evaluate(headers)) == 0
        await writer.evaluate(headers)  # its own change: checked against the database once
        assert await writer.statements_of(writer.evaluate(headers)) == 0

        version = reader.cache.known_version(shop_id)
        response = await writer.client.patch(
            f"{RULES}/{rule['id']}",
            json={"conditions": {">=": [{"var": "total"}, 99999]}},
            headers=headers,
        )
        assert response.status_code == 200
        # The writing process sees its own change at once, without waiting for the notice.
        assert (await writer.evaluate(headers))["matchedRuleIds"] == []
        await eventually(
            lambda: reader.cache.known_version(shop_id) > version, "the change is announced"
        )
        assert (await reader.evaluate(headers))["matchedRuleIds"] == []
        assert await reader.statements_of(reader.evaluate(headers)) == 0

        await writer.client.delete(f"{RULES}/{rule['id']}", headers=headers)
        await eventually(
            lambda: reader.cache.known_version(shop_id) > version + 1,
            "the deletion is announced",
        )
        assert (await reader.evaluate(headers))["evaluatedRules"] == 0


async def test_a_rolled_back_change_is_never_announced(database_target, committed_shop, engine):
    shop_id, headers = committed_shop
    async with instances(database_target, 1) as (instance,):
        await instance.client.post(RULES, json=BIG_ORDERS, headers=headers)
        await eventually(lambda: instance.cache.known_version(shop_id) >= 1, "announced")
        announced = instance.cache.known_version(shop_id)
        async with engine.connect() as connection:
            await connection.execute(
                update(RoutingRuleSetVersion)
                .where(RoutingRuleSetVersion.shop_id == shop_id)
                .values(version=RoutingRuleSetVersion.version + 1)
            )
            await connection.rollback()
        await instance.evaluate(headers)
        await asyncio.sleep(0.2)
        assert instance.cache.known_version(shop_id) == announced


async def test_a_shop_time_zone_change_reaches_the_cached_rules(
    database_target, committed_shop, engine
):
    shop_id, headers = committed_shop
    async with instances(database_target, 1) as (instance,):
        rule = (await instance.client.post(RULES, json=AFTERNOON, headers=headers)).json()
        before = await instance.evaluate(headers)  # no delivery time: the shop's own hour
        version = instance.cache.known_version(shop_id)
        # Twelve hours ahead of UTC, "hour >= 12" holds exactly when it does not in UTC.
        async with engine.begin() as connection:
            await connection.execute(
                update(Shop).where(Shop.id == shop_id).values(timezone="Etc/GMT-12")
            )
        await eventually(
            lambda: instance.cache.known_version(shop_id) > version,
            "the shop change is announced",
        )
        after = await instance.evaluate(headers)
        outcomes = {tuple(before["matchedRuleIds"]), tuple(after["matchedRuleIds"])}
        assert outcomes == {(), (rule["id"],)}


async def test_without_the_feed_every_evaluation_checks_the_database(
    database_target, committed_shop, engine, monkeypatch
):
    _, headers = committed_shop
    # Long enough a pause before reconnecting that the steps below all run without the feed.
    monkeypatch.setattr(notifications, "RETRY_FIRST_SECONDS", 3.0)
    async with instances(database_target, 2) as (writer, reader):
        rule = (await writer.client.post(RULES, json=BIG_ORDERS, headers=headers)).json()
        await reader.evaluate(headers)
        listener = reader.app.state.change_feed
        assert listener.connection is not None
        backend = listener.connection.info.backend_pid
        async with engine.begin() as connection:
            await connection.execute(select(text(f"pg_terminate_backend({int(backend)})")))
        await eventually(lambda: not reader.cache.live, "the reader notices the lost feed")

        # The change is made while the reader cannot hear of it...
        await writer.client.patch(
            f"{RULES}/{rule['id']}",
            json={"conditions": {">=": [{"var": "total"}, 99999]}},
            headers=headers,
        )
        # ...and the reader, checking the version each time, sees it anyway.
        assert await reader.statements_of(reader.evaluate(headers)) >= 1
        assert (await reader.evaluate(headers))["matchedRuleIds"] == []
        assert not reader.cache.live

        await eventually(lambda: reader.cache.live, "the feed is back", timeout=15)
        await reader.evaluate(headers)  # checked once in the new generation
        assert await reader.statements_of(reader.evaluate(headers)) == 0
        assert (await reader.evaluate(headers))["matchedRuleIds"] == []


async def test_requests_together_on_a_cold_shop_compile_its_rules_once(
    database_target, committed_shop
):
    _, headers = committed_shop
    async with instances(database_target, 2) as (writer, reader):
        for index in range(5):
            body = {**BIG_ORDERS, "name": f"rule {index}"}
            assert (await writer.client.post(RULES, json=body, headers=headers)).status_code == 201
        await reader.client.get(
            "/api/ai/me", headers=headers
        )  # the key is cached: auth reads nothing
        reader.statements.clear()
        results = await asyncio.gather(*(reader.evaluate(headers) for _ in range(10)))
        assert all(len(result["matchedRuleIds"]) == 5 for result in results)
        rule_reads = [s for s in reader.statements if "FROM order_routing_rules" in s]
        assert len(rule_reads) == 1


async def test_a_process_sees_its_own_change_before_the_announcement_arrives(
    database_target, committed_shop
):
    _, headers = committed_shop
    async with instances(database_target, 1) as (instance,):
        rule = (await instance.client.post(RULES, json=BIG_ORDERS, headers=headers)).json()
        await instance.evaluate(headers)
        assert await instance.statements_of(instance.evaluate(headers)) == 0  # trusted
        # Announcements are late (they come when the event loop gets to them): drop them
        # here, so only what the process noted at its own commit can tell it.
        instance.app.state.change_feed.subscribers[ROUTING_CHANNEL].on_payload = lambda _: None
        await instance.client.patch(
            f"{RULES}/{rule['id']}",
            json={"conditions": {">=": [{"var": "total"}, 99999]}},
            headers=headers,
        )
        assert (await instance.evaluate(headers))["matchedRuleIds"] == []
