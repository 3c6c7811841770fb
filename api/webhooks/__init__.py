"""Inbound webhooks from payment providers: router.py (HTTP), service.py (verify, then apply once).

No schemas.py: the body is the provider's signed payload, read raw, and the answer a
small dict. No deps.py: it needs nothing beyond the shared dependencies of api/deps.py.
"""

from .router import router

__all__ = ["router"]
