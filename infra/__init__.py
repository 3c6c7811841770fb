"""Starts and stops the real services Meterline runs on, locally and for tests."""

from .processes import InfraError
from .stack import ServiceStatus, infra_down, infra_status, infra_up

__all__ = ["InfraError", "ServiceStatus", "infra_down", "infra_status", "infra_up"]
