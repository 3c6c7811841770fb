"""The operators' analytics: router.py (HTTP), schemas.py (answers), service.py (reads the
warehouse, computes with billing_jobs.analytics), deps.py (the clock and the month range).
The definitions are in docs/analytics.md.
"""

__all__: list[str] = []
