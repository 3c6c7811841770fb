"""Inbound webhooks from payment providers: router.py (HTTP), service.py (verify, then apply once),
schemas.py (the shape of an event billing can read, and the answer).

The body is the provider's signed payload, read raw. No deps.py: it needs nothing beyond
the shared dependencies of api/deps.py.
"""

from .router import router

__all__ = ["router"]
