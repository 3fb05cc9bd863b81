"""ChangeFeed on a real PostgreSQL: delivery proven before it says it is connected."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
import pytest

from bloomer_ai.db import notifications
from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.db.notifications import ChangeFeed, connect_autocommit


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


class Recorder:
    def __init__(self) -> None:
        self.payloads: list[str] = []
        self.events: list[str] = []

    def listener(self, target: DatabaseTarget, channel: str) -> ChangeFeed:
        feed = ChangeFeed(target)
        feed.subscribe(
            channel,
            self.payloads.append,
            on_connected=lambda: self.events.append("connected"),
            on_lost=lambda: self.events.append("lost"),
        )
        return feed


async def notify(target: DatabaseTarget, channel: str, payload: str) -> None:
    async with await connect_autocommit(target) as connection:
        await connection.execute("SELECT pg_notify(%s, %s)", (channel, payload))


async def test_payloads_arrive_and_the_probe_is_not_one_of_them(database_target) -> None:
    target = database_target
    channel = f"test_{uuid.uuid4().hex[:12]}"
    recorder = Recorder()
    listener = recorder.listener(target, channel)
    listener.start()
    try:
        await eventually(lambda: recorder.events == ["connected"])
        await notify(target, channel, "shop:7")
        await eventually(lambda: recorder.payloads == ["shop:7"])
    finally:
        await listener.stop()
    assert recorder.events == ["connected", "lost"]


async def test_a_feed_whose_notifications_never_arrive_is_never_trusted(
    database_target, monkeypatch
) -> None:
    """As behind a pooler in transaction mode: LISTEN and NOTIFY run (for real), but the
    notifications reach a server connection that is no longer ours."""
    target = database_target

    class Undelivered:
        def __init__(self, connection: psycopg.AsyncConnection) -> None:
            self.connection = connection

        def __getattr__(self, name: str) -> Any:
            return getattr(self.connection, name)

        async def __aenter__(self) -> Undelivered:
            await self.connection.__aenter__()
            return self

        async def __aexit__(self, *exc: object) -> None:
            await self.connection.__aexit__(*exc)

        async def notifies(self, *, timeout: float | None = None) -> AsyncIterator[Any]:
            await asyncio.sleep(timeout if timeout is not None else 3600)
            return
            yield

    real_connect = notifications.connect_autocommit

    async def connect(target: DatabaseTarget) -> Any:
        return Undelivered(await real_connect(target))

    monkeypatch.setattr(notifications, "connect_autocommit", connect)
    monkeypatch.setattr(notifications, "PROBE_TIMEOUT_SECONDS", 0.2)
    recorder = Recorder()
    listener = recorder.listener(target, f"test_{uuid.uuid4().hex[:12]}")
    listener.start()
    try:
        await asyncio.sleep(1.0)  # several attempts: each one times out and retries
    finally:
        await listener.stop()
    assert "connected" not in recorder.events
    assert recorder.events.count("lost") >= 2


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch) -> None:
    monkeypatch.setattr(notifications, "RETRY_FIRST_SECONDS", 0.05)


async def test_each_channel_reaches_its_own_subscriber(database_target) -> None:
    first, second = Recorder(), Recorder()
    feed = ChangeFeed(database_target)
    channels = [f"test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    feed.subscribe(channels[0], first.payloads.append)
    feed.subscribe(channels[1], second.payloads.append)
    feed.start()
    try:
        await eventually(lambda: feed.connection is not None)
        await asyncio.sleep(0.2)  # past the delivery proof
        await notify(database_target, channels[1], "two")
        await notify(database_target, channels[0], "one")
        await eventually(lambda: first.payloads == ["one"] and second.payloads == ["two"])
    finally:
        await feed.stop()
