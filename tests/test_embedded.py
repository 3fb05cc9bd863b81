"""The embedded PostgreSQL default: one server per data folder, shared while ``serve`` runs.

Everything runs through the installed ``bloomer-ai`` with no DATABASE_URL, as a developer
on a fresh checkout would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

BIN = Path(sys.executable).parent
BLOOMER_AI = BIN / "bloomer-ai"

# Lists the shop names of a data folder's embedded server (started, then stopped on exit).
LIST_SHOPS = """
import json, sys
from pathlib import Path
import psycopg
from bloomer_ai.db.embedded import start_embedded_postgres
from bloomer_ai.kit.database_urls import libpq_url
url = start_embedded_postgres(Path(sys.argv[1]) / "pgdata")
with psycopg.connect(libpq_url(url)) as connection:
    rows = connection.execute("select name from shops order by name").fetchall()
print(json.dumps([row[0] for row in rows]))
"""


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "ENVIRONMENT", "BLOOMER_DATA_DIR", "LOG_FORMAT"}
    }
    env["BLOOMER_DATA_DIR"] = str(data_dir)
    env["ENVIRONMENT"] = "development"
    return env


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BLOOMER_AI), *args],
        cwd=data_dir.parent,
        env=embedded_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_side_by_side(*commands: tuple[Path, list[str]]) -> list[tuple[int, str, str]]:
    """Run commands on different data folders at the same time; (exit code, out, err) each."""
    processes = [
        subprocess.Popen(
            argv,
            cwd=data_dir.parent,
            env=embedded_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for data_dir, argv in commands
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append((process.returncode, out, err))
    return results


def list_shops_argv(data_dir: Path) -> list[str]:
    return [sys.executable, "-c", LIST_SHOPS, str(data_dir)]


def parse_names(result: tuple[int, str, str]) -> list[str]:
    code, out, err = result
    assert code == 0, err
    names: list[str] = json.loads(out.strip().splitlines()[-1])
    return names


def postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    try:
        return int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def server_running(data_dir: Path) -> bool:
    pid = postmaster_pid(data_dir)
    return pid is not None and alive(pid)


def wait_until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return bool(condition())  # type: ignore[operator]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def folders() -> Iterator[tuple[Path, Path]]:
    """Two data folders, each migrated once by ``db upgrade``."""
    root = Path(tempfile.mkdtemp(prefix="bloomer-embedded-"))
    # The wheel runs PostgreSQL as its own system user when we are root: let it in.
    root.chmod(0o755)
    a, b = root / "a", root / "b"
    try:
        upgrade = [str(BLOOMER_AI), "db", "upgrade"]
        for code, out, err in run_side_by_side((a, upgrade), (b, upgrade)):
            assert code == 0, err
            assert "embedded PostgreSQL" in out
            assert "Running upgrade" in err  # a fresh folder: every migration was applied
        yield a, b
    finally:
        for folder in (a, b):
            pid = postmaster_pid(folder)
            if pid is not None and alive(pid):
                os.kill(pid, signal.SIGTERM)  # a server our subprocesses left behind
        shutil.rmtree(root, ignore_errors=True)


def test_each_data_folder_has_its_own_database(folders: tuple[Path, Path]) -> None:
    a, b = folders
    assert (a / "pgdata" / "PG_VERSION").is_file()
    assert (b / "pgdata" / "PG_VERSION").is_file()

    name_a, name_b = f"Shop A {uuid.uuid4().hex[:8]}", f"Shop B {uuid.uuid4().hex[:8]}"
    created = run_side_by_side(
        (a, [str(BLOOMER_AI), "shops", "create", "--name", name_a, "--json"]),
        (b, [str(BLOOMER_AI), "shops", "create", "--name", name_b, "--json"]),
    )
    for code, _out, err in created:
        assert code == 0, err
    assert json.loads(created[0][1])["id"] != json.loads(created[1][1])["id"]

    listed = run_side_by_side((a, list_shops_argv(a)), (b, list_shops_argv(b)))
    assert parse_names(listed[0]) == [name_a]
    assert parse_names(listed[1]) == [name_b]
    # The last process to leave stopped the server: nothing keeps running.
    assert not server_running(a)
    assert not server_running(b)


def test_db_upgrade_again_reuses_the_folder(folders: tuple[Path, Path]) -> None:
    _, b = folders
    control = b / "pgdata" / "global" / "pg_control"
    before = control.stat().st_ino

    again = run(b, "db", "upgrade")
    assert again.returncode == 0, again.stderr
    assert "Running upgrade" not in again.stderr  # the schema was there: nothing to apply
    assert control.stat().st_ino == before  # the cluster was not initialised again
    assert not server_running(b)


def test_a_command_joins_the_server_of_a_running_serve(folders: tuple[Path, Path]) -> None:
    a, _ = folders
    port = free_port()
    log_path = a.parent / f"serve-{port}.log"
    with log_path.open("w") as log:
        serve = subprocess.Popen(
            [str(BLOOMER_AI), "serve", "--port", str(port)],
            cwd=a.parent,
            env=embedded_env(a),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def ready() -> bool:
            if serve.poll() is not None:
                return True  # exited: stop waiting, the assertion below says why
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(ready, 30)
        assert serve.poll() is None, log_path.read_text()
        server_pid = postmaster_pid(a)
        assert server_pid is not None and alive(server_pid)

        name = f"Joined {uuid.uuid4().hex[:8]}"
        created = run(a, "shops", "create", "--name", name, "--json")
        assert created.returncode == 0, created.stderr

        # The row is in the server serve uses (its socket, not a second server).
        lines = (a / "pgdata" / "postmaster.pid").read_text().splitlines()
        with psycopg.connect(
            host=lines[4], port=int(lines[3]), user="postgres", dbname="postgres"
        ) as connection:
            found = connection.execute("select count(*) from shops where name = %s", (name,))
            assert found.fetchone() == (1,)
        # Same postmaster before and after; the command's exit did not stop it.
        assert postmaster_pid(a) == server_pid
        assert alive(server_pid)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
        users = json.loads((a / "pgdata" / ".handle_pids.json").read_text())
        assert users == [serve.pid]

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=20) == 0, log_path.read_text()
        assert wait_until(lambda: not alive(server_pid), 10)
        assert not (a / "pgdata" / "postmaster.pid").exists()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(timeout=10)


def test_a_postgres_that_dies_is_restarted_and_stops_with_the_service(
    folders: tuple[Path, Path],
) -> None:
    _, b = folders
    port = free_port()
    log_path = b.parent / f"serve-restart-{port}.log"
    with log_path.open("w") as log:
        serve = subprocess.Popen(
            [str(BLOOMER_AI), "serve", "--port", str(port)],
            cwd=b.parent,
            env=embedded_env(b),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def readyz() -> int:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
        except httpx.HTTPError:
            return 0

    try:
        assert wait_until(lambda: serve.poll() is not None or readyz() == 200, 30)
        assert serve.poll() is None, log_path.read_text()
        first = postmaster_pid(b)
        assert first is not None and alive(first)

        os.kill(first, signal.SIGKILL)  # the database dies under the service
        assert wait_until(lambda: not alive(first), 10)
        assert wait_until(lambda: readyz() == 503, 10)  # noticed, in the error shape

        assert wait_until(lambda: readyz() == 200, 60), log_path.read_text()
        second = postmaster_pid(b)
        assert second is not None and second != first and alive(second)
        # Logged when the restart returns, which may be a moment after it answers.
        assert wait_until(lambda: "embedded_postgres_restarted" in log_path.read_text(), 10)

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0, log_path.read_text()
        # The restarted postmaster went with the service: nothing left behind.
        assert wait_until(lambda: not alive(second), 15)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(timeout=10)
