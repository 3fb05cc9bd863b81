"""Mint session tokens with the real NextAuth v4 / Auth.js v5 npm packages.

tests/fixtures/nextauth/mint.mjs calls ``encode`` from ``next-auth/jwt`` and
``@auth/core/jwt``; the packages are installed on first use (node and npm are part of the
machine, like Python). Batch requests: node starts slowly.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "nextauth"


def ensure_installed() -> None:
    if (FIXTURE_DIR / "node_modules" / "next-auth").is_dir() and (
        FIXTURE_DIR / "node_modules" / "@auth" / "core"
    ).is_dir():
        return
    subprocess.run(
        ["npm", "install", "--no-package-lock", "--legacy-peer-deps", "--no-audit", "--no-fund"],
        cwd=FIXTURE_DIR,
        check=True,
        timeout=600,
        capture_output=True,
    )


def mint(requests: list[dict[str, Any]]) -> list[str]:
    """Tokens for ``[{lib: "v4"|"v5", secret, salt?, token: {...}, maxAge?}, ...]``."""
    ensure_installed()
    completed = subprocess.run(
        ["node", "mint.mjs"],
        cwd=FIXTURE_DIR,
        input=json.dumps(requests),
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    tokens: list[str] = json.loads(completed.stdout)
    assert len(tokens) == len(requests)
    return tokens
