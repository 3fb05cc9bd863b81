"""The scenarios ``make bench`` drives: a registry that other domains add to.

A scenario is one HTTP request, repeated by every connection of the load generator for
the whole measured window:

    register(Scenario("me", "GET", "/api/ai/me", setup=_api_key_headers))

in this file or in a module of its own named ``bench/scenarios_<domain>.py``, which
:func:`load_scenario_modules` imports (in name order) before a run.

``setup`` runs once, before the server starts, with a :class:`~bench.database.BenchContext`
(``await ctx.run(fn)`` runs ``fn(session)`` in a committed transaction on the bench
database) and returns a :class:`Prepared` whose path, headers and body replace or extend the
scenario's: that is how a scenario gets a shop id, an API key or a session token. The
request must answer ``expect_status`` (200 by default), or the row is marked as failed:
a fast 401 is not a result.

The yardstick, the bare FastAPI app, is :data:`YARDSTICK`; it is not in the registry
because every run includes it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import orjson

from bench.database import BenchContext


@dataclass(frozen=True)
class Prepared:
    """What a setup hook hands back: None fields keep the scenario's own value."""

    path: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    """Added to (and overriding) the scenario's headers."""
    body: bytes | Mapping[str, Any] | None = None


SetupHook = Callable[[BenchContext], Awaitable[Prepared | None]]


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | Mapping[str, Any] | None = None
    """Bytes as they are, or a mapping sent as JSON (with its Content-Type)."""
    setup: SetupHook | None = None
    description: str = ""
    expect_status: int = 200
    app: Literal["service", "bare"] = "service"
    compare_to: str | None = None
    """Another row this one is also reported against (a like-for-like yardstick)."""
    connections: int | None = None
    """This row's own number of connections (``--connections`` otherwise), for requests
    that take long: in a closed loop p50 is about connections / req/s, so 32 connections
    in front of a 100 ms request would measure the queue, not the request."""

    def with_prepared(self, prepared: Prepared | None) -> Scenario:
        if prepared is None:
            return self
        return replace(
            self,
            path=prepared.path if prepared.path is not None else self.path,
            headers={**self.headers, **prepared.headers},
            body=prepared.body if prepared.body is not None else self.body,
            setup=None,
        )

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if isinstance(self.body, Mapping) and not any(
            name.lower() == "content-type" for name in headers
        ):
            headers["Content-Type"] = "application/json"
        return headers

    def request_body(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return orjson.dumps(dict(self.body))


SCENARIOS: dict[str, Scenario] = {}
"""Every service scenario by name, in the order they run and print."""


def load_scenario_modules() -> None:
    """Import every ``bench/scenarios_<domain>.py``: their ``register`` calls add rows."""
    import bench

    for module in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if module.name.startswith("scenarios_"):
            importlib.import_module(f"bench.{module.name}")


def register(scenario: Scenario) -> Scenario:
    if scenario.name in SCENARIOS or scenario.name == YARDSTICK.name:
        raise ValueError(f"bench scenario {scenario.name!r} is registered twice")
    SCENARIOS[scenario.name] = scenario
    return scenario


YARDSTICK = Scenario(
    "bare",
    "GET",
    "/",
    description="bare FastAPI endpoint, constant small JSON, no database (bench/bare_app.py)",
    app="bare",
)


# --- the scenarios ---------------------------------------------------------------------------

register(
    Scenario(
        "healthz",
        "GET",
        "/healthz",
        description="the service's middleware, routing and error set-up, no database",
    )
)

register(
    Scenario(
        "bare_select1",
        "GET",
        "/db/select1",
        description="bare FastAPI + a psycopg pool: `SELECT 1` on an autocommit connection",
        app="bare",
    )
)

register(
    Scenario(
        "readyz",
        "GET",
        "/readyz",
        description="readiness: one pooled connection checked out, `select 1`",
        compare_to="bare_select1",
    )
)


async def _new_shop_id(ctx: BenchContext, name: str) -> str:
    from bloomer_ai.shops.service import create_shop

    shop = await ctx.run(lambda session: create_shop(session, name=name))
    return str(shop.id)


async def _create_shop(ctx: BenchContext) -> Prepared:
    return Prepared(path=f"/_bench/shops/{await _new_shop_id(ctx, 'Bench florist')}")


async def _create_bare_shop(ctx: BenchContext) -> Prepared:
    return Prepared(path=f"/db/shops/{await _new_shop_id(ctx, 'Bench florist (bare)')}")


register(
    Scenario(
        "bare_db_read",
        "GET",
        "/db/shops/{id}",
        setup=_create_bare_shop,
        description="bare FastAPI + a psycopg pool: BEGIN, the shop setting, the same select "
        "of a shop by id, COMMIT",
        app="bare",
    )
)


register(
    Scenario(
        "shop_read",
        "GET",
        "/_bench/shops/{id}",
        setup=_create_shop,
        description="one `select` of a shop row by id in the request's unit of work",
        compare_to="bare_db_read",
    )
)
