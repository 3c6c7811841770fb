"""The admin and analytics API (FastAPI). Entry points: `create_app`, `run`."""

from .app import create_app, run

__all__ = ["create_app", "run"]
