"""The tenant's own lifecycle, for its people: its standing (any role), and for its owner the
export, the deletion request and its cancellation. router.py, service.py; schemas are the
operators' TenantStandingPublic (one shape for both sides)."""

__all__: list[str] = []
