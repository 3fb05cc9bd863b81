"""PostgreSQL LISTEN/NOTIFY on a connection of its own, reconnected when it drops.

A ``ChannelListener`` keeps one autocommit psycopg connection listening on a channel and
hands each payload to a callback. ``on_connected`` runs once LISTEN is in place and
delivery is proven (the listener notifies itself and waits for it): from then on no
committed notification is missed. ``on_lost`` runs when the connection ends: from then on
notifications may be missed until the next ``on_connected``. Consumers use the two to
decide when a cache may be trusted without asking the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

import psycopg
import structlog
from psycopg import sql

from bloomer_ai.db.engine import DatabaseTarget, connect_arguments

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


class ChannelListener:
    def __init__(
        self,
        target: DatabaseTarget,
        channel: str,
        *,
        on_payload: Callable[[str], None],
        on_connected: Callable[[], None],
        on_lost: Callable[[], None],
    ) -> None:
        self.target = target
        self.channel = channel
        self.on_payload = on_payload
        self.on_connected = on_connected
        self.on_lost = on_lost
        self.connection: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"listen:{self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _prove_delivery(self, connection: psycopg.AsyncConnection) -> None:
        """Notify ourselves and wait for it: only then is the feed trusted.

        Behind a pooler in transaction mode (PgBouncer's default) LISTEN succeeds but
        notifications go to a server connection we no longer hold; without this check the
        caches would trust a feed that never speaks.
        """
        probe = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        await connection.execute("SELECT pg_notify(%s, %s)", (self.channel, probe))
        async for notification in connection.notifies(timeout=PROBE_TIMEOUT_SECONDS):
            if notification.payload == probe:
                return
            if not notification.payload.startswith(PROBE_PREFIX):
                self.on_payload(notification.payload)
        raise NotificationsNotDelivered(
            f"a notification on {self.channel!r} did not come back within "
            f"{PROBE_TIMEOUT_SECONDS:g} s (a pooler in transaction mode?)"
        )

    async def _run(self) -> None:
        delay = RETRY_FIRST_SECONDS
        failing = False
        while True:
            try:
                async with await connect_autocommit(self.target) as connection:
                    self.connection = connection
                    listen = sql.SQL("LISTEN {}").format(sql.Identifier(self.channel))
                    await connection.execute(listen)
                    await self._prove_delivery(connection)
                    self.on_connected()
                    if failing:
                        log.info("listener_recovered", channel=self.channel)
                    failing, delay = False, RETRY_FIRST_SECONDS
                    async for notification in connection.notifies():
                        if not notification.payload.startswith(PROBE_PREFIX):
                            self.on_payload(notification.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:  # once per outage, not once per attempt
                    log.warning(
                        "listener_unavailable",
                        channel=self.channel,
                        error_type=type(exc).__name__,
                        reason=str(exc) if isinstance(exc, NotificationsNotDelivered) else None,
                        retry_seconds=delay,
                    )
                failing = True
            finally:
                self.connection = None
                self.on_lost()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
