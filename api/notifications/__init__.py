"""The notifications area: router.py (HTTP), schemas.py (request/response models)."""

__all__: list[str] = []
