"""The plans area: router.py (HTTP), schemas.py (the billing domain's Plan), service.py (rules and transactions).

No deps.py: it needs nothing beyond the shared dependencies of api/deps.py (OperatorDep).
"""

__all__: list[str] = []
