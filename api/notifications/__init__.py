"""The notifications area: router.py (HTTP), schemas.py (request/response models), service.py (rules and transactions).

No deps.py: it needs nothing beyond the shared dependencies of api/deps.py.
"""

__all__: list[str] = []
