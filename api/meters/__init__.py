"""The meters area: router.py (HTTP), schemas.py (request/response models), service.py (rules and transactions).

No deps.py: besides api/deps.py it uses the request's instant, which it shares with the
subscriptions area (api/subscriptions/deps.py), so both act at the same overridable clock.
"""

__all__: list[str] = []
