"""The usage area: router.py (HTTP), schemas.py (request/response models), service.py (range rules,
meter lookup, reading), deps.py (the usage readers), postgres_source.py (the billing store's reader).

Usage for people: query_router.py (GET /v1/usage/query, paginated, and /v1/usage/export, CSV),
query_service.py (a meter or all, zone windows, groups and subject; metering.zone_windows and
metering.regroup hold the rules), cursor.py (cursor pagination), watermark.py (the freshness
watermark every usage answer carries, from PostgreSQL's positions and Kafka's end offsets).
"""

__all__: list[str] = []
