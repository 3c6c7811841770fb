"""The admin and analytics API (FastAPI). Entry points: `create_app`, `run`.

Each area, `api/<area>/`, has router.py (translates HTTP and calls the service),
schemas.py (request and response models), service.py (the rules and the transactions)
and deps.py where it has dependencies of its own; shared ones are in api/deps.py.
Services and readers raise the errors of api/domain_errors.py, and api/errors.py alone
maps them to HTTP. Transactions come from `DatabaseDep` (warehouse.postgres.database):
nothing in api/ imports SQLAlchemy.
"""

from .app import create_app, run

__all__ = ["create_app", "run"]
