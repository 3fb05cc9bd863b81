"""The shape of the code (docs/architecture.md), read from the source's import statements.

* The framework is used as it is: no module imports a private name of FastAPI, Starlette,
  pydantic or SQLAlchemy (a leading underscore anywhere in the module path or the name).
* Packages import downwards only, by the layers below, and domains import no cycle.
* Every domain package has the same files.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "bloomer_ai"
FRAMEWORKS = ("fastapi", "starlette", "pydantic", "pydantic_core", "sqlalchemy")

# Lower layers never import higher ones; a package may import its own layer only where
# the graph stays acyclic (checked below).
LAYERS: list[set[str]] = [
    {"kit"},
    {"config", "errors", "logging"},
    {"models"},
    {"db"},
    {"ratelimit", "web", "webhooks", "idempotency", "jobs"},
    {"auth"},
    {"shops", "customers", "orders", "integrations", "outbound_webhooks"},
    {"routing", "agent", "campaigns", "support", "tools", "campaign_generation", "voice"},
    {"lifespan", "main", "cli", "demo", "migrations", "__init__"},
]
DOMAINS = [
    "shops",
    "customers",
    "orders",
    "integrations",
    "outbound_webhooks",
    "agent",
    "routing",
    "campaigns",
    "support",
    "tools",
    "campaign_generation",
    "voice",
]
DOMAIN_FILES = {"endpoints.py", "schemas.py", "service.py", "repository.py", "errors.py"}


def modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(SRC)), ast.parse(path.read_text(), str(path)))
        for path in sorted(SRC.rglob("*.py"))
    ]


def imported_names(tree: ast.Module) -> list[tuple[str, str | None]]:
    """(module, name) for every import; name None for ``import module``."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.module, alias.name) for alias in node.names)
    return found


def is_private(module: str, name: str | None) -> bool:
    parts = module.split(".")
    if parts[0] not in FRAMEWORKS:
        return False
    return any(part.startswith("_") for part in parts) or bool(name and name.startswith("_"))


def test_no_private_framework_name_is_imported():
    offenders = [
        f"{file}: {module}{'.' + name if name else ''}"
        for file, tree in modules()
        for module, name in imported_names(tree)
        if is_private(module, name)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("module", "name", "private"),
    [
        ("fastapi._compat", "Undefined", True),
        ("fastapi.dependencies.utils", "_get_param_model", True),
        ("starlette._utils", None, True),
        ("sqlalchemy.orm", "Session", False),
        ("bloomer_ai._internal", None, False),
    ],
)
def test_the_private_name_check_itself(module, name, private):
    assert is_private(module, name) is private


def _package_of(file: str) -> str:
    first = file.split("/")[0]
    return first.removesuffix(".py")


def package_imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for file, tree in modules():
        package = _package_of(file)
        for module, _name in imported_names(tree):
            parts = module.split(".")
            if parts[0] == "bloomer_ai" and len(parts) > 1 and parts[1] != package:
                graph[package].add(parts[1])
    return graph


def _layer(package: str) -> int:
    for index, layer in enumerate(LAYERS):
        if package in layer:
            return index
    raise AssertionError(f"package {package!r} is in no layer: add it to LAYERS and the docs")


def test_packages_import_downwards_only():
    upward = [
        f"{package} → {target}"
        for package, targets in package_imports().items()
        for target in targets
        if _layer(target) > _layer(package)
    ]
    assert upward == []


def test_no_import_cycle_between_packages():
    graph = package_imports()
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        for target in graph.get(node, ()):
            if target in path:
                cycles.append(" → ".join([*path[path.index(target) :], target]))
            elif len(path) < len(graph) + 1:
                visit(target, [*path, target])

    for start in graph:
        visit(start, [start])
    assert cycles == []


def test_kit_imports_nothing_of_the_app():
    assert package_imports().get("kit", set()) == set()


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_has_the_same_files(domain):
    files = {path.name for path in (SRC / domain).glob("*.py")} - {"__init__.py"}
    assert files == DOMAIN_FILES, "extras go in a named sub-package (as agent/providers/)"
