"""The invoices area: router.py (HTTP), schemas.py (request/response models), service.py (reads).

No deps.py: it needs nothing beyond the shared dependencies of api/deps.py.
"""

__all__: list[str] = []
