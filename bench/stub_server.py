"""A canned-response HTTP/1.1 server for measuring the load generator's own ceiling.

It answers every request with the same small JSON and does nothing else, so its cost per
request is a fraction of any ASGI server's: driven by ``bench.loadgen``, the figure it
reaches is (close to) the most the generator can produce. If that is several times the
bare FastAPI app's figure, the generator is not what limits the other rows.

``python -m bench.stub_server --port P`` listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import cast

_BODY = b'{"status":"ok"}'
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(_BODY)).encode()
    + b"\r\n\r\n"
    + _BODY
)


class _Echo(asyncio.Protocol):
    def __init__(self) -> None:
        self.pending = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        # Bodiless GETs only: one blank line ends one request.
        data = self.pending + data
        count = data.count(b"\r\n\r\n")
        self.pending = data[data.rfind(b"\r\n\r\n") + 4 :] if count else data
        if count and self.transport is not None:
            self.transport.write(_RESPONSE * count)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Echo, "127.0.0.1", port)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stub_server")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
