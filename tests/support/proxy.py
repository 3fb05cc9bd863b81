"""A TCP proxy in front of PostgreSQL that a test can cut and restore: the database
"goes away" for the app (connections refused, open ones dropped) and comes back, without
touching the server other tests use."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from sqlalchemy.engine import URL


class CuttableProxy:
    def __init__(self, target: URL) -> None:
        host = target.host or target.query.get("host")
        self._socket_dir = host if isinstance(host, str) and host.startswith("/") else None
        self._host = None if self._socket_dir else (host if isinstance(host, str) else "127.0.0.1")
        self._port = target.port or 5432
        self.port = _free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    def url(self, target: URL) -> URL:
        """``target`` reached through the proxy."""
        return target.set(host="127.0.0.1", port=self.port, query={})

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._socket_dir is not None:
            return await asyncio.open_unix_connection(f"{self._socket_dir}/.s.PGSQL.{self._port}")
        return await asyncio.open_connection(self._host, self._port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await self._connect()
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            await asyncio.gather(_pump(reader, upstream_writer), _pump(upstream_reader, writer))
        except asyncio.CancelledError:
            pass
        finally:
            self._pipes.discard(task)
            for stream in (writer, upstream_writer):
                stream.close()
                with contextlib.suppress(Exception):
                    await stream.wait_closed()


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    while chunk := await source.read(65536):
        sink.write(chunk)
        await sink.drain()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
