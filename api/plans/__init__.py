"""The plans area: router.py (HTTP), schemas.py (the billing domain's Plan), service.py (rules and transactions).

No deps.py: it needs nothing beyond api/deps.py and api/operator_deps.py (require_permission).
"""

__all__: list[str] = []
