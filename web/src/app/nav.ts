import { atLeast, operatorMay, type OperatorPermission, type Role, type Session } from "../lib/session";

export interface NavItem { to: string; label: string; minimum?: Role; operator?: OperatorPermission }

export const NAV: NavItem[] = [
  { to: "/", label: "Dashboard" },
  { to: "/usage", label: "Usage" },
  { to: "/billing", label: "Billing" }, // viewers read invoices, payments and corrections; writes need an admin
  { to: "/developers", label: "Developers" },
  // Every role reads some of it (meters, users, alert thresholds); each card gates its own writes.
  { to: "/settings", label: "Settings" },
  // The operator console's sections, each offered to the operator roles that hold its permission.
  { to: "/operator", label: "Operator console", operator: "analytics.revenue" },
  { to: "/operator/tenants", label: "Tenants", operator: "tenants.read" },
  { to: "/operator/invoice-runs", label: "Invoice runs", operator: "billing.run" },
  { to: "/operator/pipeline", label: "Pipeline", operator: "pipeline.read" },
];

/** What this session is offered: a role sees only what it may do (the API refuses the rest anyway). */
export function allowed(item: NavItem, session: Session | null): boolean {
  if (!session) return false;
  if (item.operator) return operatorMay(session, item.operator);
  if (session.kind !== "user") return false;
  return item.minimum ? atLeast(session, item.minimum) : true;
}
