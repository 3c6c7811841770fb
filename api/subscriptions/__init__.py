"""The subscriptions area: router.py (HTTP), schemas.py (request/response models), service.py (the
lifecycle's rules and transactions), deps.py (the instant a request acts at).
"""

__all__: list[str] = []
