"""Process-wide resources opened by the app's lifespan and kept on ``app.state``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI

from bloomer_ai.config import Settings
from bloomer_ai.db.engine import DatabaseTarget, create_engine, resolve_database
from bloomer_ai.db.session import make_session_factory

log = structlog.get_logger("bloomer_ai")


@asynccontextmanager
async def open_resources(
    app: FastAPI, settings: Settings, database: DatabaseTarget | None
) -> AsyncIterator[dict[str, Any]]:
    target = database or resolve_database(settings.db)
    engine = create_engine(target, settings.db)
    app.state.database = target
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    log.info("startup", database=target.description, environment=settings.server.environment)
    try:
        yield {}
    finally:
        await engine.dispose()
