"""The sessions area: router.py (HTTP), schemas.py (request/response models), service.py (logging in).

No deps.py: it needs nothing beyond the shared dependencies of api/deps.py.
"""

__all__: list[str] = []
