"""Invoice runs over HTTP, for operators: start a run of the generate-invoices deployment for a
closed period (a flow run in the Prefect UI) and follow runs with their per-tenant outcomes.
router.py (HTTP), schemas.py, service.py (the period guard, then Prefect), deps.py."""

__all__: list[str] = []
