"""Helpers shared by integration and end-to-end tests (real services only)."""
