"""The role table, declared once: what each permission needs, and what each route needs.

Roles are ranked Owner > Admin > Manager > Member > Viewer (api/auth.py); a role has
every permission of the roles below it. `ROUTES` gives every route of the admin app its
access: a permission (checked by the one dependency api/deps.py `get_caller`, with the
caller's stored role), the operator token, or public. A route missing here is refused
(fail closed) and fails tests/integration/test_role_table.py, which walks every route
for every role. docs/roles.md is rendered from this module (`python -m api.permissions`)
and checked against it by tests/unit/api/test_role_table_docs.py.

Some permissions narrow what a route does rather than whether it may be called: a member
reaches /v1/api-keys (OWN_API_KEYS) but sees and revokes only the keys they own, unless
they also hold ALL_API_KEYS.
"""

from __future__ import annotations

from enum import StrEnum

from .auth import ROLES, Role, role_at_least

__all__ = ["Permission", "Access", "MINIMUM_ROLE", "MEANING", "ROUTES", "can", "route_access", "render_markdown"]


class Permission(StrEnum):
    READ = "read"
    OWN_ACCOUNT = "own_account"
    USAGE_EXPORT = "usage_export"
    OWN_API_KEYS = "own_api_keys"
    METERS = "meters"
    LIMITS = "limits"
    ALERT_TARGETS = "alert_targets"
    ALERT_THRESHOLDS = "alert_thresholds"
    USERS = "users"
    ALL_API_KEYS = "all_api_keys"
    SUBSCRIPTION = "subscription"
    AUDIT = "audit"
    DELETE_TENANT = "delete_tenant"
    TRANSFER_OWNERSHIP = "transfer_ownership"


class Access(StrEnum):
    """Routes outside the role table's reach: nobody's role is checked on them."""

    PUBLIC = "public"  # no token: registration, login, refresh, accepting an invitation, docs
    # An operator account's token (api/operator_deps.py, its own role table api/operator_roles.py),
    # or the bootstrap token where only that creates operator accounts; a tenant's token is not a
    # credential there at all (401).
    OPERATOR = "operator"


MINIMUM_ROLE: dict[Permission, Role] = {
    Permission.READ: "viewer",
    Permission.OWN_ACCOUNT: "viewer",
    Permission.USAGE_EXPORT: "member",
    Permission.OWN_API_KEYS: "member",
    Permission.METERS: "manager",
    Permission.LIMITS: "manager",
    Permission.ALERT_TARGETS: "manager",
    Permission.ALERT_THRESHOLDS: "admin",
    Permission.USERS: "admin",
    Permission.ALL_API_KEYS: "admin",
    Permission.SUBSCRIPTION: "admin",
    Permission.AUDIT: "admin",
    Permission.DELETE_TENANT: "owner",
    Permission.TRANSFER_OWNERSHIP: "owner",
}

MEANING: dict[Permission, str] = {
    Permission.READ: "read the tenant's meters, plans, subscription, usage, invoices, events, stream health, "
                     "users and notifications",
    Permission.OWN_ACCOUNT: "change one's own password, log out",
    Permission.USAGE_EXPORT: "download usage exports (CSV)",
    Permission.OWN_API_KEYS: "create, list and revoke one's own API keys",
    Permission.METERS: "create meters",
    Permission.LIMITS: "manage usage limits",
    Permission.ALERT_TARGETS: "read and set where alerts and notifications go (email, signed webhook)",
    Permission.ALERT_THRESHOLDS: "set at which percents of a plan limit alerts fire",
    Permission.USERS: "invite users, change roles and remove users, each only below one's own role",
    Permission.ALL_API_KEYS: "list and revoke every user's API keys",
    Permission.SUBSCRIPTION: "subscribe, change plan, cancel",
    Permission.AUDIT: "read the audit log",
    Permission.DELETE_TENANT: "delete the tenant",
    Permission.TRANSFER_OWNERSHIP: "hand the owner role to another user (becoming an admin)",
}

P, A = Permission, Access
ROUTES: dict[tuple[str, str], Permission | Access] = {
    ("GET", "/healthz"): A.PUBLIC,
    ("GET", "/metrics"): A.PUBLIC,  # Prometheus scrapes it; see infra/README.md on exposing it
    ("GET", "/openapi.json"): A.PUBLIC,
    ("HEAD", "/openapi.json"): A.PUBLIC,
    ("GET", "/docs"): A.PUBLIC,
    ("POST", "/webhooks/stripe"): A.PUBLIC,  # signed by Stripe instead
    ("POST", "/v1/tenants"): A.PUBLIC,
    ("POST", "/v1/auth/login"): A.PUBLIC,
    ("POST", "/v1/auth/refresh"): A.PUBLIC,  # the refresh token is the credential
    ("POST", "/v1/invitations/accept"): A.PUBLIC,  # the invitation token is the credential
    ("POST", "/v1/invitations/preview"): A.PUBLIC,  # likewise; counted per client address
    ("POST", "/v1/auth/logout"): P.OWN_ACCOUNT,
    ("POST", "/v1/auth/password"): P.OWN_ACCOUNT,
    ("GET", "/v1/users/me"): P.OWN_ACCOUNT,
    ("GET", "/v1/users"): P.READ,
    ("GET", "/v1/users/invitations"): P.USERS,
    ("POST", "/v1/users/invitations"): P.USERS,
    ("DELETE", "/v1/users/invitations/{invitation_id}"): P.USERS,
    ("PUT", "/v1/users/{user_id}/role"): P.USERS,
    ("DELETE", "/v1/users/{user_id}"): P.USERS,
    ("POST", "/v1/users/transfer-ownership"): P.TRANSFER_OWNERSHIP,
    ("GET", "/v1/audit"): P.AUDIT,
    ("GET", "/v1/api-keys"): P.OWN_API_KEYS,
    ("POST", "/v1/api-keys"): P.OWN_API_KEYS,
    ("DELETE", "/v1/api-keys/{key_id}"): P.OWN_API_KEYS,
    ("GET", "/v1/meters"): P.READ,
    ("POST", "/v1/meters"): P.METERS,
    ("GET", "/v1/plans"): P.READ,
    ("POST", "/v1/plans"): A.OPERATOR,
    ("POST", "/v1/subscriptions"): P.SUBSCRIPTION,
    ("GET", "/v1/subscriptions/current"): P.READ,
    ("POST", "/v1/subscriptions/current/change-plan"): P.SUBSCRIPTION,
    ("POST", "/v1/subscriptions/current/cancel"): P.SUBSCRIPTION,
    ("GET", "/v1/usage"): P.READ,
    ("GET", "/v1/usage/hourly"): P.READ,
    ("GET", "/v1/usage/query"): P.READ,
    ("GET", "/v1/usage/export"): P.USAGE_EXPORT,
    ("GET", "/v1/events/recent"): P.READ,
    ("GET", "/v1/events/{event_id}"): P.READ,
    ("GET", "/v1/invoices"): P.READ,
    ("GET", "/v1/invoices/{number}"): P.READ,
    ("GET", "/v1/invoices/preview"): P.READ,
    ("GET", "/v1/invoices/{number}/lines/{line_id}/windows"): P.READ,
    ("GET", "/v1/invoices/{number}/lines/{line_id}/events"): P.READ,
    ("GET", "/v1/payments"): P.READ,
    ("GET", "/v1/payments/{payment_id}"): P.READ,
    ("GET", "/v1/corrections"): P.READ,
    ("GET", "/v1/tenant"): P.READ,
    ("GET", "/v1/tenant/export"): P.DELETE_TENANT,  # all of the tenant's data, taken before a deletion
    ("POST", "/v1/tenant/deletion"): P.DELETE_TENANT,
    ("DELETE", "/v1/tenant/deletion"): P.DELETE_TENANT,
    ("GET", "/v1/stream/dead-letters"): P.READ,
    ("GET", "/v1/stream/duplicates"): P.READ,
    ("GET", "/v1/stream/duplicates/conflicts"): P.READ,
    ("GET", "/v1/stream/corrections"): P.READ,
    ("GET", "/v1/notifications/outbox"): P.READ,
    ("GET", "/v1/notifications/target"): P.ALERT_TARGETS,  # it shows the webhook signing secret
    ("PUT", "/v1/notifications/target"): P.ALERT_TARGETS,
    ("GET", "/v1/notifications/thresholds"): P.READ,
    ("PUT", "/v1/notifications/thresholds"): P.ALERT_THRESHOLDS,
    **{("GET", f"/v1/operator/analytics/{report}"): A.OPERATOR
       for report in ("mrr", "arpu", "subscriptions", "churn", "revenue", "revenue/top", "usage", "usage/top",
                      "pipeline")},
    ("POST", "/v1/operator/accounts"): A.OPERATOR,  # the bootstrap token only
    ("POST", "/v1/operator/auth/login"): A.PUBLIC,
    ("GET", "/v1/operator/me"): A.OPERATOR,
    ("GET", "/v1/operator/tenants"): A.OPERATOR,
    ("POST", "/v1/operator/tenants/{tenant_id}/suspend"): A.OPERATOR,
    ("POST", "/v1/operator/tenants/{tenant_id}/resume"): A.OPERATOR,
    ("POST", "/v1/operator/tenants/{tenant_id}/subscriptions"): A.OPERATOR,
    ("GET", "/v1/operator/retained-invoices"): A.OPERATOR,
    ("POST", "/v1/operator/invoice-runs"): A.OPERATOR,
    ("GET", "/v1/operator/invoice-runs"): A.OPERATOR,
    ("GET", "/v1/operator/invoice-runs/{run_id}"): A.OPERATOR,
}


def can(role: str, permission: Permission) -> bool:
    return role_at_least(role, MINIMUM_ROLE[permission])


def route_access(method: str, path: str) -> Permission | Access | None:
    """The access of a route, by its method and path template; None: not in the table."""
    return ROUTES.get((method.upper(), path))


def render_markdown() -> str:
    """docs/roles.md, from the tables above."""
    lines = ["# Roles and permissions", "",
             "Generated from `api/permissions.py` (`python -m api.permissions > docs/roles.md`); "
             "a test fails when they differ.", "",
             "Roles, highest first: " + " > ".join(r.capitalize() for r in ROLES) + ". "
             "A role has every permission of the roles below it. The role checked is the user's current "
             "one, read at every request: a removed user is refused (401) and a downgraded one loses "
             "the higher permissions (403) at their next request.", "",
             "| Permission | Meaning | " + " | ".join(r.capitalize() for r in ROLES) + " |",
             "|---|---|" + "---|" * len(ROLES)]
    for permission in Permission:
        marks = " | ".join("yes" if can(role, permission) else "" for role in ROLES)
        lines.append(f"| `{permission}` | {MEANING[permission]} | {marks} |")
    lines += ["", "## Routes", "", "| Method | Path | Needs |", "|---|---|---|"]
    for (method, path), access in sorted(ROUTES.items(), key=lambda item: (item[0][1], item[0][0])):
        needs = f"`{access}` ({MINIMUM_ROLE[access]})" if isinstance(access, Permission) else access.value
        lines.append(f"| {method} | `{path}` | {needs} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
