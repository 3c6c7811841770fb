"""Issue 12's boundary for the admin API: SQLAlchemy stays in warehouse/, stream/sinks/ and the
composition root, and services stay free of the web framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[3] / "api"


def _imported_packages(path: Path) -> set[str]:
    packages = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.split(".")[0])
    return packages


def _modules(pattern: str) -> list[Path]:
    found = sorted(API.rglob(pattern))
    assert found, f"no {pattern} under {API}"
    return found


@pytest.mark.parametrize("path", _modules("*.py"), ids=lambda p: str(p.relative_to(API.parent)))
def test_api_does_not_import_sqlalchemy(path: Path) -> None:
    assert "sqlalchemy" not in _imported_packages(path)


@pytest.mark.parametrize("path", _modules("service.py"), ids=lambda p: str(p.relative_to(API.parent)))
def test_services_do_not_import_the_web_framework(path: Path) -> None:
    assert not _imported_packages(path) & {"fastapi", "starlette"}
