"""The corrections area: router.py (HTTP), schemas.py (response models), service.py (reads and the cursor).

No deps.py: it needs nothing beyond the shared dependencies of api/deps.py.
"""

__all__: list[str] = []
