"""Issue 12's acceptance rules on the layers, read from the source with ast (nothing is
imported or executed): the metering domain stands alone, the API and the warehouse do
not reach up into the stream, the SQL toolkit stays in the adapters and the composition
root, and the flows hold no SQL."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("api", "billing_jobs", "flows", "infra", "ingest", "meterline", "metering", "stream", "warehouse")
# Where sqlalchemy may be imported: the adapters over PostgreSQL and the composition root.
SQLALCHEMY_HOMES = ("warehouse/", "stream/sinks/", "meterline/bootstrap.py")
# Known exceptions, each with its reason; a new module importing sqlalchemy fails the test.
SQLALCHEMY_ELSEWHERE: set[str] = set()
# Libraries metering/ may use: neither frameworks nor drivers, no I/O. orjson writes the
# canonical text of a group key, which must match byte for byte across every writer.
PURE_LIBRARIES = {"orjson"}
_SQL = re.compile(r"\b(SELECT\b.+\bFROM|INSERT\s+INTO|UPDATE\b.+\bSET|DELETE\s+FROM|CREATE\s+TABLE)\b",
                  re.DOTALL)  # keywords as this code base writes SQL: upper case


def _modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of import nodes under `if TYPE_CHECKING:`: annotations, never executed."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return guarded


def _imports(path: Path) -> Iterator[str]:
    """Absolute names of the modules `path` imports at run time."""
    tree = ast.parse(path.read_text())
    guarded = _type_checking_only(tree)
    package = _name(path).removesuffix(".py").split("/")[:-1]
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", _modules("metering"), ids=_name)
def test_metering_imports_no_project_package_framework_or_driver(path: Path):
    foreign = [name for name in _imports(path)
               if _top(name) != "metering" and _top(name) not in sys.stdlib_module_names | PURE_LIBRARIES]
    assert not foreign, f"{_name(path)} imports {foreign}"


@pytest.mark.parametrize("path", _modules("warehouse", "api"), ids=_name)
def test_warehouse_and_api_do_not_import_the_stream(path: Path):
    upward = [name for name in _imports(path) if _top(name) == "stream"]
    assert not upward, f"{_name(path)} imports {upward}"


@pytest.mark.parametrize("path", _modules(*PROJECT), ids=_name)
def test_sqlalchemy_only_in_adapters_and_the_composition_root(path: Path):
    name = _name(path)
    if name.startswith(SQLALCHEMY_HOMES) or name in SQLALCHEMY_ELSEWHERE:
        return
    assert not [i for i in _imports(path) if _top(i) == "sqlalchemy"], f"{name} imports sqlalchemy"


def test_the_known_exceptions_still_need_their_exemption():
    """An exemption whose module no longer imports sqlalchemy is stale: drop it."""
    stale = [name for name in SQLALCHEMY_ELSEWHERE
             if not any(_top(i) == "sqlalchemy" for i in _imports(ROOT / name))]
    assert not stale, stale


@pytest.mark.parametrize("path", _modules("flows"), ids=_name)
def test_flows_hold_no_sql(path: Path):
    tree = ast.parse(path.read_text())
    assert not [i for i in _imports(path) if _top(i) in ("sqlalchemy", "psycopg", "psycopg2", "asyncpg")]
    statements = [node.value for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.search(node.value)]
    assert not statements, f"{_name(path)} holds SQL: {statements}"


def test_the_checks_see_what_they_look_for(tmp_path: Path):
    """The import walker resolves relative imports and skips TYPE_CHECKING blocks, and the
    SQL pattern matches a statement: otherwise every test above would pass vacuously."""
    module = ROOT / "stream" / "sinks" / "postgres.py"
    assert "warehouse.postgres.usage" in set(_imports(module))
    assert "stream.sinks.clickhouse" in set(_imports(module))
    assert "sqlalchemy.ext.asyncio" not in set(_imports(ROOT / "stream" / "backfill.py"))
    assert _SQL.search('SELECT id FROM "tenant_x".invoice') and not _SQL.search("select a plan from the list")
