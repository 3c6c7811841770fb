"""The audit area: router.py (HTTP) and schemas.py; entries are written by the services that
make the changes (warehouse/postgres/audit.py `record_audit`, in their transactions).

No deps.py: it needs nothing beyond the shared dependencies of api/deps.py.
"""

__all__: list[str] = []
