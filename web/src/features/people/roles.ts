// What each role may do, as api/permissions.py grants it (docs/roles.md is generated from it):
// a role has every permission of the roles below it. The API checks; this table explains.
import { ROLES, type Role } from "../../lib/session";

export interface Permission { name: string; meaning: string; minimum: Role }

export const PERMISSIONS: Permission[] = [
  { name: "read", minimum: "viewer", meaning: "read the tenant's meters, plans, subscription, usage, invoices, events, stream health, users and notifications" },
  { name: "own_account", minimum: "viewer", meaning: "change one's own password, log out" },
  { name: "usage_export", minimum: "member", meaning: "download usage exports (CSV)" },
  { name: "own_api_keys", minimum: "member", meaning: "create, list and revoke one's own API keys" },
  { name: "meters", minimum: "manager", meaning: "create meters" },
  { name: "limits", minimum: "manager", meaning: "manage usage limits" },
  { name: "alert_targets", minimum: "manager", meaning: "read and set where alerts and notifications go (email, signed webhook)" },
  { name: "alert_thresholds", minimum: "admin", meaning: "set at which percents of a plan limit alerts fire" },
  { name: "users", minimum: "admin", meaning: "invite users, change roles and remove users, each only below one's own role" },
  { name: "all_api_keys", minimum: "admin", meaning: "list and revoke every user's API keys" },
  { name: "subscription", minimum: "admin", meaning: "subscribe, change plan, cancel" },
  { name: "audit", minimum: "admin", meaning: "read the audit log" },
  { name: "delete_tenant", minimum: "owner", meaning: "delete the tenant" },
  { name: "transfer_ownership", minimum: "owner", meaning: "hand the owner role to another user (becoming an admin)" },
];

const RANK: Record<Role, number> = { owner: 5, admin: 4, manager: 3, member: 2, viewer: 1 };

export function grants(role: Role, permission: Permission): boolean {
  return RANK[role] >= RANK[permission.minimum];
}

/** The roles `actor` may give (invite with, or change to): strictly below its own; owner moves only by a transfer. */
export function assignableRoles(actor: Role): Role[] {
  return ROLES.filter((role) => role !== "owner" && RANK[role] < RANK[actor]);
}

/** Whether `actor` may change or remove a user holding `target` (only users below one's own role). */
export function manages(actor: Role, target: Role): boolean {
  return RANK[target] < RANK[actor];
}
