"""The per-tenant event view: recent events and the fate of each (router.py HTTP,
fate.py the pure rule, service.py reading ClickHouse and PostgreSQL)."""

__all__: list[str] = []
