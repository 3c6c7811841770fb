"""Inbound webhooks from payment providers."""

from .router import router

__all__ = ["router"]
