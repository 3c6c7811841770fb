"""Connection-level failures of PostgreSQL as the billing ports' RetryableError.

The flows' tasks retry only RetryableError (flows/_shared.py): a bug fails at once. A
database that is restarting, unreachable or dropped the connection is not a bug, so the
store adapters say so at their edge, in one place, instead of letting the driver's
exceptions cross the port. Constraint violations and the like stay as they are: retrying
the same statement would fail the same way.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TypeVar

import psycopg
from sqlalchemy import exc as sa_exc

from billing_jobs.errors import RetryableError

__all__ = ["CONNECTION_ERRORS", "retryable_on_connection_loss"]

# sqlalchemy wraps the driver's errors (OperationalError: connection refused or lost,
# server shutting down, lock or statement timeout; InterfaceError: a closed connection);
# psycopg's own may surface from code that talks to the driver directly.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError, sa_exc.InterfaceError, psycopg.OperationalError,
)

_Target = TypeVar("_Target", bound=Callable)


def _mapped(function: Callable) -> Callable:
    if inspect.iscoroutinefunction(function):
        @functools.wraps(function)
        async def async_call(*args, **kwargs):
            try:
                return await function(*args, **kwargs)
            except CONNECTION_ERRORS as exc:
                raise RetryableError(f"PostgreSQL unavailable: {exc}") from exc
        return async_call

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except CONNECTION_ERRORS as exc:
            raise RetryableError(f"PostgreSQL unavailable: {exc}") from exc
    return call


def retryable_on_connection_loss(target: _Target) -> _Target:
    """A store class (each of its public methods) or a function, with connection-level
    failures raised as RetryableError."""
    if not inspect.isclass(target):
        return _mapped(target)
    for name, member in list(vars(target).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(target, name, _mapped(member))
    return target
