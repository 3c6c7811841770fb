"""The operators area: accounts and login (accounts_router.py), tenants across the platform
(tenants_router.py), schemas.py, service.py. Who may do what: api/operator_roles.py."""

__all__: list[str] = []
