"""PostgreSQL LISTEN/NOTIFY on a connection of its own, reconnected when it drops.

A ``ChangeFeed`` keeps one autocommit psycopg connection listening on the channels its
subscribers named and hands each payload to the channel's subscriber. ``on_connected``
runs once LISTEN is in place and delivery is proven (the feed notifies itself and waits
for it): from then on no committed notification is missed. ``on_lost`` runs when the
connection ends: from then on notifications may be missed until the next
``on_connected``. Consumers use the two to decide when a cache may be trusted without
asking the database.

The feed needs a direct connection to PostgreSQL or a pooler in *session* mode: behind a
pooler in transaction mode LISTEN succeeds but notifications go to a server connection
the feed no longer holds. The delivery proof catches that, and the feed then never
counts as connected (caches fall back to asking the database, or to their time limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import structlog
from psycopg import sql

from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.kit.database_urls import connect_arguments

log = structlog.get_logger("bloomer_ai.db.notifications")

RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
PROBE_TIMEOUT_SECONDS = 5.0
PROBE_PREFIX = "probe:"


class NotificationsNotDelivered(RuntimeError):
    """LISTEN worked but our own NOTIFY never arrived."""


async def connect_autocommit(target: DatabaseTarget) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(
        **connect_arguments(target.url), connect_timeout=5, autocommit=True
    )


def _nothing() -> None:
    return None


@dataclass
class Subscriber:
    on_payload: Callable[[str], None]
    on_connected: Callable[[], None] = field(default=_nothing)
    on_lost: Callable[[], None] = field(default=_nothing)


class ChangeFeed:
    def __init__(self, target: DatabaseTarget) -> None:
        self.target = target
        self.subscribers: dict[str, Subscriber] = {}
        self.connection: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None

    def subscribe(
        self,
        channel: str,
        on_payload: Callable[[str], None],
        *,
        on_connected: Callable[[], None] = _nothing,
        on_lost: Callable[[], None] = _nothing,
    ) -> None:
        if channel in self.subscribers:
            raise ValueError(f"channel {channel!r} has a subscriber already")
        self.subscribers[channel] = Subscriber(on_payload, on_connected, on_lost)

    def start(self) -> None:
        if self.subscribers and self._task is None:
            self._task = asyncio.create_task(self._run(), name="change-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _deliver(self, channel: str, payload: str) -> None:
        subscriber = self.subscribers.get(channel)
        if subscriber is not None and not payload.startswith(PROBE_PREFIX):
            subscriber.on_payload(payload)

    async def _prove_delivery(self, connection: psycopg.AsyncConnection) -> None:
        """Notify ourselves and wait for it: only then is the feed trusted."""
        channel = next(iter(self.subscribers))
        probe = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        await connection.execute("SELECT pg_notify(%s, %s)", (channel, probe))
        async for notification in connection.notifies(timeout=PROBE_TIMEOUT_SECONDS):
            if notification.payload == probe:
                return
            self._deliver(notification.channel, notification.payload)
        raise NotificationsNotDelivered(
            f"a notification on {channel!r} did not come back within "
            f"{PROBE_TIMEOUT_SECONDS:g} s (a pooler in transaction mode?)"
        )

    def _each(self, event: str) -> None:
        for subscriber in self.subscribers.values():
            getattr(subscriber, event)()

    async def _run(self) -> None:
        delay = RETRY_FIRST_SECONDS
        failing = False
        while True:
            try:
                async with await connect_autocommit(self.target) as connection:
                    self.connection = connection
                    for channel in self.subscribers:
                        await connection.execute(
                            sql.SQL("LISTEN {}").format(sql.Identifier(channel))
                        )
                    await self._prove_delivery(connection)
                    self._each("on_connected")
                    if failing:
                        log.info("change_feed_recovered")
                    failing, delay = False, RETRY_FIRST_SECONDS
                    async for notification in connection.notifies():
                        self._deliver(notification.channel, notification.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:  # once per outage, not once per attempt
                    log.warning(
                        "change_feed_unavailable",
                        error_type=type(exc).__name__,
                        reason=str(exc) if isinstance(exc, NotificationsNotDelivered) else None,
                        retry_seconds=delay,
                    )
                failing = True
            finally:
                self.connection = None
                self._each("on_lost")
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
