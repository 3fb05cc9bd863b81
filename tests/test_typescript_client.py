"""The web app's TypeScript client (clients/typescript): generated from openapi.json without
drift, type-checked with `tsc --strict`, and driven against the running service by a node
test — signed in with a NextAuth token minted by next-auth itself.

The npm packages are installed on first use (`npm ci` from the lock file), like the
NextAuth fixtures; node and npm are part of the machine.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from conftest import TEST_AUTH_SECRET
from support.live_service import LiveService, live_service
from support.nextauth import mint

CLIENT_DIR = Path(__file__).resolve().parents[1] / "clients" / "typescript"


def npm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", *args],
        cwd=CLIENT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def installed() -> None:
    if not (CLIENT_DIR / "node_modules" / "openapi-fetch").is_dir():
        done = npm("ci", "--no-audit", "--no-fund")
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_lock_file_names_no_download_address() -> None:
    """Versions and integrity hashes only: no registry `resolved` URL, no funding link
    (`make client-lock` rewrites it so)."""
    lock = (CLIENT_DIR / "package-lock.json").read_text()
    assert "://" not in lock
    assert '"integrity": "sha512-' in lock


def test_generated_types_match_the_committed_document(installed: None, tmp_path: Path) -> None:
    fresh = tmp_path / "schema.ts"
    done = subprocess.run(
        ["npx", "openapi-typescript", "../../openapi.json", "--output", str(fresh)],
        cwd=CLIENT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    committed = (CLIENT_DIR / "src" / "schema.ts").read_text()
    assert fresh.read_text() == committed, "clients/typescript is stale: run `make client`"


def test_the_client_type_checks_strictly(installed: None) -> None:
    done = npm("run", "typecheck")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
async def service(postgres_server: URL, database_target: object) -> LiveService:
    async with live_service(postgres_server, TEST_AUTH_SECRET) as running:
        yield running


def test_the_client_drives_the_running_service(installed: None, service: LiveService) -> None:
    (session_token,) = mint(
        [{"lib": "v4", "secret": TEST_AUTH_SECRET, "token": {"sub": str(service.owner_id)}}]
    )
    built = npm("run", "build")
    assert built.returncode == 0, built.stdout + built.stderr
    done = npm(
        "test",
        env={
            "BLOOMER_BASE_URL": service.base_url,
            "BLOOMER_SESSION_TOKEN": session_token,
            "BLOOMER_API_KEY": service.api_key,
            "BLOOMER_ORDER_NUMBER": service.order_number,
            "BLOOMER_SHOP_ID": str(service.shop_id),
        },
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "# fail 0" in done.stdout and "# pass 6" in done.stdout, done.stdout
