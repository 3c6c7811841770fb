"""The operators' role table, declared once (pure): what finance and SREs may do.

Operators are the platform's own people (operator_account), never a tenant's. Every
operator route names ONE permission (api/operator_deps.py `require_permission`), and a
role may do exactly what its row lists; docs/operators.md publishes this table and
tests/unit/api/test_operator_roles.py keeps the two equal.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["OperatorRole", "OPERATOR_ROLES", "Permission", "PERMISSIONS", "ROLE_PERMISSIONS", "allowed"]

OperatorRole = Literal["finance", "sre"]
OPERATOR_ROLES: tuple[OperatorRole, ...] = get_args(OperatorRole)

Permission = Literal[
    "tenants.read",          # the tenants list: status, plan, lifecycle dates
    "tenants.suspend",       # suspend and resume a tenant (non-payment, abuse)
    "plans.write",           # add to the price catalogue
    "analytics.revenue",     # MRR, ARR, ARPU, subscriptions, churn, revenue, top revenue
    "analytics.usage",       # usage per tenant and top usage
    "invoices.retained",     # invoices kept after a tenant's purge
    "pipeline.read",         # pipeline health (ingest rate, lag, dead letters, flow runs)
    "billing.run",           # invoice runs, closing a period now, backdated subscriptions
]
PERMISSIONS: tuple[Permission, ...] = get_args(Permission)

ROLE_PERMISSIONS: dict[OperatorRole, frozenset[Permission]] = {
    # Finance runs the money: the catalogue, suspensions for non-payment, revenue and the
    # invoices the law keeps; usage too, since invoices are made of it.
    "finance": frozenset({"tenants.read", "tenants.suspend", "plans.write", "analytics.revenue",
                          "analytics.usage", "invoices.retained", "billing.run"}),
    # SREs run the platform: its health, suspensions for abuse, and every analytics figure
    # (read-only), but neither the prices nor the retained invoices.
    "sre": frozenset({"tenants.read", "tenants.suspend", "analytics.revenue", "analytics.usage",
                      "pipeline.read"}),
}


def allowed(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())  # type: ignore[arg-type]
