"""The stream's PL/pgSQL functions: the latest tenant migration that creates them holds
the text warehouse/postgres/usage/stream_functions.py builds from today's merge rules, so
changing a rule without a migration re-creating them fails here."""

import importlib.util
from pathlib import Path

from warehouse.postgres.usage.stream_functions import claim_events_sql, merge_usage_windows_sql

VERSIONS = Path(__file__).resolve().parents[2] / "warehouse/migrations/tenant/versions"


def _latest(attribute: str) -> str:
    texts = []
    for path in sorted(VERSIONS.glob("*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, attribute):
            texts.append(getattr(module, attribute))
    assert texts, f"no tenant migration defines {attribute}"
    return texts[-1]


def test_the_latest_migration_creates_merge_usage_windows_as_the_code_builds_it():
    assert _latest("MERGE_USAGE_WINDOWS") == merge_usage_windows_sql()


def test_the_latest_migration_creates_claim_events_as_the_code_builds_it():
    assert _latest("CLAIM_EVENTS") == claim_events_sql()


def test_the_merge_applies_every_registered_aggregation_rule():
    from metering.aggregations import registered

    body = merge_usage_windows_sql()
    for kind in registered():
        assert f"WHEN '{kind.name}' THEN {kind.postgres_merge}" in body
