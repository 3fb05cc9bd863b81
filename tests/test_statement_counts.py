"""Round trips per request on the hot routes, counted on the wire of the app's own pool.

Not on the tests' savepoint harness (its SAVEPOINT/RELEASE and SET ROLE would change the
counts): a committed shop, a real app instance with its real engine, and libpq's own
protocol trace (``PQtrace``, through psycopg) on every pooled connection. Each round trip
ends with the server's ReadyForQuery; the statements are what the client sent. A change
that adds a round trip to a hot route fails here, not only in a bench nobody ran.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from psycopg import pq
from sqlalchemy import event

from bloomer_ai.main import create_app
from conftest import make_settings
from support.auth import key_headers
from support.committed import committed_shop

_MESSAGE = re.compile(r"^(?P<side>[FB])\t\d+\t(?P<type>\w+)\t?(?P<rest>.*)$", re.DOTALL)
_STRINGS = re.compile(r'"((?:[^"]|"")*)"')


def _messages(text: str) -> list[tuple[str, str, list[str]]]:
    """(side, type, quoted strings) per protocol message; SQL may span several lines."""
    lines: list[str] = []
    for line in text.splitlines():
        if line[:2] in {"F\t", "B\t"} or not lines:
            lines.append(line)
        else:
            lines[-1] += "\n" + line
    messages = []
    for line in lines:
        if match := _MESSAGE.match(line):
            messages.append((match["side"], match["type"], _STRINGS.findall(match["rest"])))
    return messages


class WireTrace:
    """libpq's trace of every connection the engine checks out, appended to one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("ab")
        self.offset = 0

    def attach(self, engine: Any) -> None:
        def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
            if record.info.get("traced"):
                return
            pgconn = dbapi_connection.driver_connection.pgconn
            pgconn.trace(self.file.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            record.info["traced"] = True

        event.listen(engine.sync_engine, "checkout", on_checkout)

    def mark(self) -> None:
        self.offset = len(self.path.read_bytes().decode())

    def since_mark(self) -> tuple[int, list[str]]:
        """Round trips and the statements sent (their SQL) since the mark."""
        text = self.path.read_bytes().decode()
        # Prepared statements (psycopg prepares a statement after a few uses) are parsed
        # once under a name and later only bound: the names, from the whole trace.
        prepared = {
            strings[0]: strings[1]
            for side, kind, strings in _messages(text)
            if side == "F" and kind == "Parse" and strings[0]
        }
        round_trips, sent = 0, []
        for side, kind, strings in _messages(text[self.offset :]):
            if side == "B" and kind == "ReadyForQuery":
                round_trips += 1
            elif side == "F" and kind == "Query":
                sent.append(strings[0])
            elif side == "F" and kind == "Parse" and not strings[0]:
                sent.append(strings[1])  # an unnamed statement, bound right after
            elif side == "F" and kind == "Bind" and strings[1]:
                sent.append(prepared[strings[1]])
        return round_trips, sent


def _describe(sql: str) -> str:
    if "set_config('app.shop_id'" in sql:
        return "set shop"
    words = sql.split()
    if words[0].upper() == "WITH":
        return "WITH " + " ".join(words[3:4]).strip("(").upper()  # the CTE's verb
    if words[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
        table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", sql, re.IGNORECASE)
        return f"{words[0].upper()} {table[1] if table else ''}".strip()
    return words[0].upper()


@contextmanager
def wire_trace(tmp_path: Path) -> Iterator[WireTrace]:
    trace = WireTrace(tmp_path / "libpq.trace")
    try:
        yield trace
    finally:
        trace.file.close()


@asynccontextmanager
async def traced_app(database_target: Any, trace: WireTrace) -> AsyncIterator[AsyncClient]:
    app = create_app(make_settings(database_target.operator_url), database=database_target)
    async with app.router.lifespan_context(app):
        trace.attach(app.state.engine)
        await app.state.engine.dispose()  # connections opened before the trace: gone
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            yield client


async def on_the_wire(
    client: AsyncClient, trace: WireTrace, method: str, url: str, **kw: Any
) -> tuple[int, list[str]]:
    round_trips, sent = await sql_on_the_wire(client, trace, method, url, **kw)
    return round_trips, [_describe(sql) for sql in sent]


async def sql_on_the_wire(
    client: AsyncClient, trace: WireTrace, method: str, url: str, **kw: Any
) -> tuple[int, list[str]]:
    """A request in steady state, on the wire: the same request made a few times first
    warms the caches, and psycopg prepares a statement after its fifth use (a one-time
    round trip of its own)."""
    for _ in range(WARM_UP + 1):
        trace.mark()
        response = await client.request(method, url, **kw)
        assert response.status_code < 300, response.text
    return trace.since_mark()


@pytest.fixture
async def shop_and_key(engine):
    async with committed_shop(engine, name="Counted") as (shop, secret):
        yield shop, key_headers(secret)


WARM_UP = 6
UNIT_OF_WORK = ["BEGIN", "set shop"]
EVALUATED = {"items": [{"productType": "bouquet", "unitPrice": 12000}], "total": 12000}


async def test_round_trips_of_the_hot_routes(database_target, shop_and_key, tmp_path):
    _shop, headers = shop_and_key
    rule_body = {
        "name": "big",
        "conditions": {">=": [{"var": "total"}, 100]},
        "action": {"type": "flag", "reason": "big"},
    }
    with wire_trace(tmp_path) as trace:
        async with traced_app(database_target, trace) as client:
            rule = await client.post("/api/ai/routing/rules", json=rule_body, headers=headers)
            assert rule.status_code == 201, rule.text
            first_turn = await client.post(
                "/api/ai/agent", json={"message": "Hello"}, headers=headers
            )
            conversation = first_turn.json()["conversationId"]
            chat = {"message": "Open now?", "conversationId": conversation}
            greeting = {"message": "Hello again", "conversationId": conversation}

            async def wire(method: str, url: str, body: Any = None) -> tuple[int, list[str]]:
                return await on_the_wire(client, trace, method, url, headers=headers, json=body)

            # The probe: one autocommit statement, no BEGIN/ROLLBACK around it (it reads
            # whether a job worker's heartbeat is recent).
            assert await wire("GET", "/readyz") == (1, ["SELECT procrastinate_workers"])
            # Credentials and compiled rule sets are cached (invalidated by the change
            # feed): a warm /me or evaluation touches no connection at all.
            assert await wire("GET", "/api/ai/me") == (0, [])
            assert await wire("POST", "/api/ai/routing/evaluate", EVALUATED) == (0, [])
            # A read: the shop's transaction (BEGIN, the shop setting), one select, COMMIT.
            assert await wire("GET", "/api/ai/shop") == (
                4,
                [*UNIT_OF_WORK, "SELECT shops", "COMMIT"],
            )
            assert await wire("GET", f"/api/ai/routing/rules/{rule.json()['id']}") == (
                4,
                [*UNIT_OF_WORK, "SELECT order_routing_rules", "COMMIT"],
            )
            # A chat turn that needs a fact: the builtin provider asks the opening_hours
            # tool, in a transaction of its own (the shop's profile read in the tool's
            # savepoint, the call recorded).
            # This shop has no opening hours set, so the answer hands the question to the
            # team: the request_handoff tool's transaction (the support event, the default
            # rule's task, the outbound event and its delivery job) before the reply's.
            assert await wire("POST", "/api/ai/agent", chat) == (
                33,
                [
                    *UNIT_OF_WORK,
                    "SELECT shops",
                    "WITH UPDATE",
                    "SELECT agent_messages",
                    "COMMIT",
                    *UNIT_OF_WORK,
                    "SAVEPOINT",
                    "set shop",
                    "SELECT shops",
                    "RELEASE",
                    "INSERT tool_calls",
                    "COMMIT",
                    *UNIT_OF_WORK,
                    "SAVEPOINT",
                    "set shop",
                    "SELECT shops",
                    "INSERT support_events",
                    "SELECT support_rules",
                    "INSERT support_tasks",
                    "SELECT support_tasks",
                    "INSERT webhook_events",
                    "SELECT webhook_endpoints",
                    "SELECT",
                    "RELEASE",
                    "INSERT tool_calls",
                    "COMMIT",
                    *UNIT_OF_WORK,
                    "WITH UPDATE",
                    "COMMIT",
                ],
            )
            # A chat turn: the user's message and the history in one transaction, the
            # reply in a second one after the provider answered.
            assert await wire("POST", "/api/ai/agent", greeting) == (
                10,
                [
                    *UNIT_OF_WORK,
                    "SELECT shops",
                    "WITH UPDATE",
                    "SELECT agent_messages",
                    "COMMIT",
                    *UNIT_OF_WORK,
                    "WITH UPDATE",
                    "COMMIT",
                ],
            )


def _numbered(sql: str) -> str:
    """psycopg's form of a statement: ``%(name)s`` placeholders become ``$1``, ``$2``…
    in order of first appearance."""
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f"${numbers.setdefault(match[1], len(numbers) + 1)}"

    return re.sub(r"%\((\w+)\)s", number, sql)


async def test_the_bench_yardsticks_send_the_service_s_sql(database_target, shop_and_key, tmp_path):
    """bench/bare_app.py's database rows are a fair limit only while their statements are
    the service's: the same text, in the same transactions."""
    from bench import bare_app

    _shop, headers = shop_and_key
    with wire_trace(tmp_path) as trace:
        async with traced_app(database_target, trace) as client:
            first = await client.post("/api/ai/agent", json={"message": "Hi"}, headers=headers)
            chat = {"message": "Hello again", "conversationId": first.json()["conversationId"]}
            _, shop_read = await sql_on_the_wire(
                client, trace, "GET", "/api/ai/shop", headers=headers
            )
            _, chat_turn = await sql_on_the_wire(
                client, trace, "POST", "/api/ai/agent", headers=headers, json=chat
            )
    begin, commit = "BEGIN", "COMMIT"
    set_shop, profile = _numbered(bare_app.SET_SHOP), _numbered(bare_app.SHOP_PROFILE)
    append, recent = _numbered(bare_app.APPEND_MESSAGE), _numbered(bare_app.RECENT_MESSAGES)
    assert shop_read == [begin, set_shop, profile, commit]
    assert chat_turn == [
        *(begin, set_shop, profile, append, recent, commit),
        *(begin, set_shop, append, commit),
    ]
