"""The usage area: router.py (HTTP), schemas.py (request/response models), service.py (range rules,
meter lookup, reading), deps.py (the usage readers), postgres_source.py (the billing store's reader).
"""

__all__: list[str] = []
