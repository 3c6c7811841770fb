import { atLeast, type Role, type Session } from "../lib/session";

export interface NavItem { to: string; label: string; minimum?: Role; operator?: boolean }

export const NAV: NavItem[] = [
  { to: "/", label: "Dashboard" },
  { to: "/usage", label: "Usage" },
  { to: "/billing", label: "Billing" }, // viewers read invoices, payments and corrections; writes need an admin
  { to: "/developers", label: "Developers" },
  { to: "/settings", label: "Settings", minimum: "admin" },
  { to: "/operator", label: "Operator console", operator: true },
];

/** What this session is offered: a role sees only what it may do (the API refuses the rest anyway). */
export function allowed(item: NavItem, session: Session | null): boolean {
  if (!session) return false;
  if (item.operator) return session.kind === "operator";
  if (session.kind !== "user") return false;
  return item.minimum ? atLeast(session, item.minimum) : true;
}
