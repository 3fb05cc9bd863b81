"""ASGI servers under test: how each is started, on which core, and a handle that stops it.

Each server runs one worker process on a free loopback port, started in a session of its
own (so a Ctrl-C in the terminal reaches the harness, which then stops it cleanly), with
its output in ``bench/results/logs/``.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"

SERVICE_TARGET = "bench.app_factory:create_bench_app"
BARE_TARGET = "bench.bare_app:app"


@dataclass(frozen=True)
class ServerKind:
    name: str
    summary: str

    def argv(self, target: str, port: int, *, factory: bool) -> list[str]:
        if self.name == "uvicorn":
            return [
                sys.executable, "-m", "uvicorn", target,
                "--host", LOOPBACK, "--port", str(port),
                "--loop", "uvloop", "--http", "httptools",
                "--lifespan", "on", "--no-access-log", "--log-level", "warning",
                "--timeout-graceful-shutdown", "5",
                *(["--factory"] if factory else []),
            ]  # fmt: skip
        if self.name == "granian":
            return [
                sys.executable, "-m", "granian",
                "--interface", "asgi", "--http", "1", "--no-ws",
                "--host", LOOPBACK, "--port", str(port), "--workers", "1",
                "--loop", "uvloop", "--log-level", "warning",
                "--workers-kill-timeout", "5",
                *(["--factory"] if factory else []),
                target,
            ]  # fmt: skip
        raise ValueError(f"unknown server {self.name!r}")

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(self.name)
        except PackageNotFoundError:
            return "not installed"


SERVERS: dict[str, ServerKind] = {
    "uvicorn": ServerKind("uvicorn", "uvicorn, uvloop event loop, httptools parser"),
    "granian": ServerKind("granian", "granian (Rust HTTP/1 on tokio), ASGI, uvloop event loop"),
}
DEFAULT_SERVER = "uvicorn"  # chosen by `--compare-servers`: see docs/benchmarks.md


@dataclass(frozen=True)
class Layout:
    """Which cores the server and the load generator may use (None: the scheduler decides)."""

    server_cpus: frozenset[int] | None
    loadgen_cpus: frozenset[int] | None

    @classmethod
    def choose(cls, pin: bool) -> Layout:
        available = sorted(os.sched_getaffinity(0))
        if not pin or len(available) < 2:
            return cls(None, None)
        # One core for the server (with all its threads), the other for the generator;
        # PostgreSQL is left to the scheduler, which puts it beside the lighter generator.
        return cls(frozenset({available[0]}), frozenset({available[1]}))

    def describe(self) -> str:
        if self.server_cpus is None or self.loadgen_cpus is None:
            return "not pinned (the scheduler shares all cores)"
        return (
            f"server pinned to CPU {min(self.server_cpus)}, load generator to CPU "
            f"{min(self.loadgen_cpus)}, PostgreSQL unpinned"
        )


UNPINNED = Layout(None, None)


def pinned_to(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins the child (its threads and children inherit it)."""
    if not cpus:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    return pin


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``with ServerProcess(...) as server:`` — started, ready, and stopped on the way out."""

    def __init__(
        self,
        kind: ServerKind,
        *,
        target: str,
        factory: bool,
        ready_path: str,
        env: Mapping[str, str],
        log_path: Path,
        cpus: frozenset[int] | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self.kind = kind
        self.port = free_port()
        self.argv = kind.argv(target, self.port, factory=factory)
        self.ready_path = ready_path
        self.env = dict(env)
        self.log_path = log_path
        self.cpus = cpus
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=pinned_to(self.cpus),  # safe: the harness runs no threads
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last_problem = "no answer"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.kind.name} exited with code {self.process.returncode} before it "
                    f"was ready; its output:\n{self.log_tail()}"
                )
            try:
                connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=2)
                try:
                    connection.request("GET", self.ready_path)
                    status = connection.getresponse().status
                finally:
                    connection.close()
                if status == 200:
                    return
                last_problem = f"{self.ready_path} answered {status}"
            except OSError as exc:
                last_problem = type(exc).__name__
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.kind.name} was not ready within {self.ready_timeout:.0f} s "
            f"({last_problem}); its output:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM (graceful shutdown, lifespan end), then SIGKILL of its own group if stuck."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        # A worker left behind by its parent is still in the group we started: only ours.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"
