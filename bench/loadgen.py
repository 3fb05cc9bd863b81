"""A closed-loop HTTP/1.1 load generator on raw asyncio sockets.

Run by ``bench.run`` as its own process (so it has a core of its own), it keeps N
keep-alive connections busy, one request in flight on each (no pipelining), for a warm-up
and then a measured window, and prints one JSON object: completed requests, statuses,
errors, latency percentiles, and the CPU used by itself and by the server's processes in
the window (so a reader can tell which side was the bottleneck).

Why not httpx or aiohttp: their per-request cost is several times a small FastAPI
endpoint's, so they would measure themselves. Here a request is pre-encoded bytes and a
response is found by ``Content-Length`` (or chunked framing) in one buffer.

Only loopback addresses are accepted, every loop ends by the deadline, and every
request has a timeout.

Stand-alone: ``python -m bench.loadgen http://127.0.0.1:8000/readyz -c 32 -d 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ipaddress
import json
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

_CRLF2 = b"\r\n\r\n"
SEQUENCE_MARK = b"@@@@SEQUENCE@@@@"
"""In a request's body, replaced on every send by a number of the same width, unique in the
run (``<start ms><count>``): a webhook delivery that is new each time, not a repeat."""
_NO_BODY_STATUSES = frozenset({204, 304})
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class FramingError(Exception):
    """A response the minimal parser cannot frame (no length, bad chunk): counted, reconnected."""


@dataclass(frozen=True)
class LoadSpec:
    host: str
    port: int
    method: str = "GET"
    path: str = "/"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    connections: int = 32
    duration: float = 5.0
    warmup: float = 1.0
    timeout: float = 10.0
    watch_pids: tuple[int, ...] = ()

    def encode_request(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        names = {name.lower() for name in self.headers}
        lines.extend(f"{name}: {value}" for name, value in self.headers.items())
        has_body = self.body or self.method in {"POST", "PUT", "PATCH"}
        if has_body and "content-length" not in names:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "body_b64": base64.b64encode(self.body).decode(),
            "connections": self.connections,
            "duration": self.duration,
            "warmup": self.warmup,
            "timeout": self.timeout,
            "watch_pids": list(self.watch_pids),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoadSpec:
        return cls(
            host=data["host"],
            port=int(data["port"]),
            method=data.get("method", "GET"),
            path=data.get("path", "/"),
            headers=dict(data.get("headers", {})),
            body=base64.b64decode(data.get("body_b64", "")),
            connections=int(data.get("connections", 32)),
            duration=float(data.get("duration", 5.0)),
            warmup=float(data.get("warmup", 1.0)),
            timeout=float(data.get("timeout", 10.0)),
            watch_pids=tuple(int(pid) for pid in data.get("watch_pids", ())),
        )


def require_loopback(host: str) -> None:
    """The bench only ever loads this machine: refuse any other address."""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise SystemExit(f"loadgen: {host!r} is not a loopback address") from None
    if not address.is_loopback:
        raise SystemExit(f"loadgen: {host!r} is not a loopback address")


# --- response framing -------------------------------------------------------------------------


def frame_response(buf: bytearray) -> tuple[int, int, bool] | None:
    """(bytes used, status, server closes) of the first complete response in buf, or None."""
    head_end = buf.find(_CRLF2)
    if head_end < 0:
        return None
    status = int(buf[9:12])
    head = bytes(buf[:head_end]).lower()
    closes = b"\r\nconnection: close" in head
    body_start = head_end + 4
    position = head.find(b"\r\ncontent-length:")
    if position >= 0:
        value_start = position + 17
        value_end = head.find(b"\r\n", value_start)
        length = int(head[value_start : value_end if value_end >= 0 else len(head)])
        end = body_start + length
        return (end, status, closes) if len(buf) >= end else None
    if b"\r\ntransfer-encoding: chunked" in head:
        chunked_end = _chunked_end(buf, body_start)
        return (chunked_end, status, closes) if chunked_end is not None else None
    if status in _NO_BODY_STATUSES or 100 <= status < 200:
        return body_start, status, closes
    raise FramingError("response without Content-Length or chunked framing")


def _chunked_end(buf: bytearray, position: int) -> int | None:
    while True:
        line_end = buf.find(b"\r\n", position)
        if line_end < 0:
            return None
        size_text = bytes(buf[position:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise FramingError("bad chunk size") from None
        if size == 0:
            # No trailers expected from our servers: the last chunk ends with an empty line.
            trailer_end = buf.find(_CRLF2, line_end)
            if trailer_end == line_end:
                return line_end + 4
            if trailer_end < 0:
                return None
            return trailer_end + 4
        position = line_end + 2 + size + 2
        if len(buf) < position:
            return None


# --- CPU accounting -----------------------------------------------------------------------------


def process_tree(roots: Iterable[int]) -> list[int]:
    """The given processes and all their descendants (granian runs its app in a child)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    tree = [pid for pid in roots if pid in parents]
    index = 0
    while index < len(tree):
        tree.extend(pid for pid, ppid in parents.items() if ppid == tree[index])
        index += 1
    return tree


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / _CLOCK_TICKS


def all_process_ticks() -> dict[int, int]:
    """CPU clock ticks used so far by every process on the machine, by pid."""
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    return ticks


def other_process_seconds(before: dict[int, int], after: dict[int, int], mine: set[int]) -> float:
    """CPU-seconds of processes other than ours between two snapshots (PostgreSQL, others).

    Processes are counted, not /proc/stat's machine total: the kernel's loopback work in
    softirq belongs to no process and would look like a busy neighbour.
    """
    used = sum(ticks - before.get(pid, 0) for pid, ticks in after.items() if pid not in mine)
    return used / _CLOCK_TICKS


# --- the generator --------------------------------------------------------------------------------


class _Run:
    """Shared state of one run: phase times, the recorded results, the live connections."""

    def __init__(self, spec: LoadSpec, loop: asyncio.AbstractEventLoop) -> None:
        self.spec = spec
        self.loop = loop
        self.request = spec.encode_request()
        self.sequenced = SEQUENCE_MARK in self.request
        self.sequence = int(time.time() * 1000) % 10**10 * 10**6
        now = time.perf_counter()
        self.record_start = now + spec.warmup
        self.record_end = self.record_start + spec.duration
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.connections: list[_Connection] = []
        self.reconnects = 0

    def stopped(self, now: float) -> bool:
        return now >= self.record_end

    def record(self, started: float, finished: float, status: int) -> None:
        if self.record_start <= finished <= self.record_end:
            self.latencies.append(finished - started)
            self.statuses[status] += 1

    def error(self, kind: str) -> None:
        if self.record_start <= time.perf_counter() <= self.record_end:
            self.errors[kind] += 1

    async def open_connection(self) -> None:
        connection = _Connection(self)
        self.connections.append(connection)
        try:
            await self.loop.create_connection(lambda: connection, self.spec.host, self.spec.port)
        except OSError:
            self.connections.remove(connection)
            self.error("connect")
            raise

    def replace(self, connection: _Connection) -> None:
        """Open a new connection for one that failed, unless the run is over."""
        if connection in self.connections:
            self.connections.remove(connection)
        if self.stopped(time.perf_counter()):
            return
        self.reconnects += 1
        self.loop.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        # Bounded by the deadline: a dead server yields connect errors until the run ends.
        while not self.stopped(time.perf_counter()):
            try:
                await self.open_connection()
                return
            except OSError:
                await asyncio.sleep(0.05)


class _Connection(asyncio.Protocol):
    __slots__ = ("buffer", "run", "started", "transport")

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.started: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        run = self.run
        if run.sequenced:
            run.sequence += 1
            request = run.request.replace(SEQUENCE_MARK, b"%016d" % run.sequence)
        else:
            request = run.request
        self.started = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        try:
            framed = frame_response(buffer)
        except (FramingError, ValueError):
            self.fail("framing")
            return
        if framed is None:
            return
        used, status, closes = framed
        finished = time.perf_counter()
        assert self.started is not None
        self.run.record(self.started, finished, status)
        del buffer[:used]
        self.started = None
        if buffer:
            self.fail("unexpected_bytes")  # pipelining is off: nothing may follow a response
            return
        if closes:
            self.close()
            self.run.replace(self)
            return
        if not self.run.stopped(finished):
            self.send()

    def fail(self, kind: str) -> None:
        self.started = None  # counted here, not again by connection_lost
        self.run.error(kind)
        self.close()
        self.run.replace(self)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.started is not None:
            self.started = None
            self.run.error("connection_lost")
            self.run.replace(self)


async def generate(spec: LoadSpec) -> dict[str, Any]:
    require_loopback(spec.host)
    loop = asyncio.get_running_loop()
    run = _Run(spec, loop)
    await asyncio.gather(*(run.open_connection() for _ in range(spec.connections)))
    # Phase times count from when all connections are open: the warm-up covers TCP set-up.
    now = time.perf_counter()
    run.record_start = now + spec.warmup
    run.record_end = run.record_start + spec.duration
    pids = process_tree(spec.watch_pids)

    await asyncio.sleep(max(0.0, run.record_start - time.perf_counter()))
    cpu_self_start, server_cpu_start = time.process_time(), cpu_seconds(pids)
    everyone_start = all_process_ticks()
    wall_start = time.perf_counter()
    while (now := time.perf_counter()) < run.record_end:
        # The watchdog: a request that outlives the timeout fails its connection.
        for connection in list(run.connections):
            if connection.started is not None and now - connection.started > spec.timeout:
                connection.fail("timeout")
        await asyncio.sleep(min(0.25, max(0.0, run.record_end - now)))
    wall = time.perf_counter() - wall_start
    cpu_self, server_cpu = (
        time.process_time() - cpu_self_start,
        cpu_seconds(pids) - server_cpu_start,
    )
    everyone_end = all_process_ticks()

    for connection in list(run.connections):
        connection.close()
    result = summarise(run, wall, cpu_self, server_cpu if pids else None)
    # Everything else that ran meanwhile: PostgreSQL for database scenarios, and any other
    # process on the machine (which makes a run noisy; the harness warns about it).
    mine = {os.getpid(), *pids}
    other = other_process_seconds(everyone_start, everyone_end, mine)
    result["other_cpu"] = other / wall if wall > 0 else None
    return result


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def summarise(run: _Run, wall: float, cpu_self: float, server_cpu: float | None) -> dict[str, Any]:
    latencies = sorted(run.latencies)
    completed = len(latencies)
    ok = sum(count for status, count in run.statuses.items() if 200 <= status < 300)
    ms = 1000.0
    return {
        "duration_s": round(wall, 3),
        "connections": run.spec.connections,
        "completed": completed,
        "ok": ok,
        "statuses": {str(status): count for status, count in sorted(run.statuses.items())},
        "errors": dict(run.errors),
        "reconnects": run.reconnects,
        "rps": completed / wall if wall > 0 else 0.0,
        "latency_ms": {
            "mean": (sum(latencies) / completed * ms) if completed else float("nan"),
            "p50": percentile(latencies, 0.50) * ms,
            "p90": percentile(latencies, 0.90) * ms,
            "p99": percentile(latencies, 0.99) * ms,
            "max": (latencies[-1] * ms) if completed else float("nan"),
        },
        # Share of one core: near 100 % means that side was the bottleneck.
        "loadgen_cpu": cpu_self / wall if wall > 0 else 0.0,
        "server_cpu": (server_cpu / wall) if server_cpu is not None and wall > 0 else None,
    }


def _install_fast_loop() -> None:
    try:
        import uvloop
    except ImportError:  # the plain loop works, only slower: the ceiling check will tell
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def run_spec(spec: LoadSpec) -> dict[str, Any]:
    _install_fast_loop()
    return asyncio.run(generate(spec))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.loadgen", description="Closed-loop HTTP/1.1 load on loopback."
    )
    parser.add_argument("url", nargs="?", help="http://127.0.0.1:PORT/path (omit with --stdin)")
    parser.add_argument("--stdin", action="store_true", help="read a JSON LoadSpec from stdin")
    parser.add_argument("-c", "--connections", type=int, default=32)
    parser.add_argument("-d", "--duration", type=float, default=5.0)
    parser.add_argument("-w", "--warmup", type=float, default=1.0)
    parser.add_argument("-X", "--method", default="GET")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--body", default="", help="request body (text)")
    parser.add_argument("--watch-pid", type=int, action="append", default=[])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    if args.stdin:
        spec = LoadSpec.from_json(json.load(sys.stdin))
    else:
        if not args.url:
            raise SystemExit("loadgen: give a URL or --stdin")
        parts = urlsplit(args.url)
        if parts.scheme != "http" or not parts.hostname:
            raise SystemExit("loadgen: only http:// URLs on loopback")
        headers = dict(
            (name.strip(), value.strip())
            for name, _, value in (header.partition(":") for header in args.header)
        )
        spec = LoadSpec(
            host=parts.hostname,
            port=parts.port or 80,
            method=args.method.upper(),
            path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            headers=headers,
            body=args.body.encode(),
            connections=args.connections,
            duration=args.duration,
            warmup=args.warmup,
            watch_pids=tuple(args.watch_pid),
        )
    if not 1 <= spec.connections <= 1024 or not 0 < spec.duration <= 600:
        raise SystemExit("loadgen: connections must be 1..1024 and duration 0..600 s")
    require_loopback(spec.host)
    try:
        result = run_spec(spec)
    except OSError as exc:  # the server is not there: one line, not a traceback
        raise SystemExit(f"loadgen: cannot connect to {spec.host}:{spec.port}: {exc}") from None
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
