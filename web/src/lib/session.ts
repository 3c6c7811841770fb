// Who is signed in. Access tokens are bearer tokens (the API sets no cookies), kept in this
// tab's sessionStorage: gone when the tab closes, never sent anywhere but the API.
// A tenant user's role and tenant come from the token's own claims; an operator (finance or
// sre) signs in with an operator account and sees only the console sections its role may use.

export type Role = "owner" | "admin" | "manager" | "member" | "viewer";
export const ROLES: Role[] = ["owner", "admin", "manager", "member", "viewer"];

export type TenantStatus = "active" | "suspended" | "deleting";

export interface UserSession {
  kind: "user"; token: string; expiresAt: string; role: Role; tenantId: string; userId: string; email: string;
  /** Single use: traded at POST /v1/auth/refresh for the next pair (null when the API gave none). */
  refreshToken: string | null;
  tenantStatus: TenantStatus; tenantStatusReason: string | null;
}

export interface OperatorSession {
  kind: "operator"; token: string; expiresAt: string; email: string; role: OperatorRole;
  permissions: OperatorPermission[];
}

export type Session = UserSession | OperatorSession;

export type OperatorRole = "finance" | "sre";
/** api/operator_roles.py's permissions, as GET /v1/operator/me lists them for the caller's role. */
export type OperatorPermission = "tenants.read" | "tenants.suspend" | "plans.write" | "analytics.revenue" |
  "analytics.usage" | "invoices.retained" | "pipeline.read" | "billing.run";

export type EndReason = "signed-out" | "expired" | "refused";

const KEY = "meterline.session";
type Listener = () => void;
const listeners = new Set<Listener>();
let current: Session | null = read();
let lastEnd: EndReason | null = null;

function read(): Session | null {
  try {
    const raw = globalThis.sessionStorage?.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

function emit() {
  listeners.forEach((listener) => listener());
}

export function getSession(): Session | null {
  return current;
}

export function endReason(): EndReason | null {
  return lastEnd;
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function setSession(session: Session | null, reason: EndReason = "signed-out"): void {
  current = session;
  lastEnd = session ? null : reason;
  if (session) globalThis.sessionStorage?.setItem(KEY, JSON.stringify(session));
  else globalThis.sessionStorage?.removeItem(KEY);
  emit();
}

interface Claims { sub: string; tenant_id: string; role: Role; exp: number }

/** The claims of a JWT, unverified: the API verifies; the app only needs to know what to offer. */
export function tokenClaims(token: string): Claims {
  const payload = token.split(".")[1] ?? "";
  const base64 = payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "=");
  return JSON.parse(atob(base64)) as Claims;
}

/** The API's answer to a login, a registration, an accepted invitation or a refresh. */
export interface IssuedTokens {
  access_token: string; expires_at: string; refresh_token?: string | null;
  tenant_status?: TenantStatus; tenant_status_reason?: string | null;
}

export function userSession(tokens: IssuedTokens, email: string): UserSession {
  const claims = tokenClaims(tokens.access_token);
  return { kind: "user", token: tokens.access_token, expiresAt: tokens.expires_at, role: claims.role,
           tenantId: claims.tenant_id, userId: claims.sub, email, refreshToken: tokens.refresh_token ?? null,
           tenantStatus: tokens.tenant_status ?? "active", tenantStatusReason: tokens.tenant_status_reason ?? null };
}

/** The session after a refresh: the new pair, and the role the new token carries (a downgrade shows). */
export function refreshedSession(session: UserSession, tokens: IssuedTokens): UserSession {
  const next = userSession(tokens, session.email);
  return { ...next, tenantStatus: session.tenantStatus, tenantStatusReason: session.tenantStatusReason };
}

const RANK: Record<Role, number> = { owner: 5, admin: 4, manager: 3, member: 2, viewer: 1 };

/** Whether `session` may do what needs `minimum` (owner > admin > manager > member > viewer). */
export function atLeast(session: Session | null, minimum: Role): boolean {
  return session?.kind === "user" && RANK[session.role] >= RANK[minimum];
}

/** Whether an operator session's role may do `permission` (the API checks the stored role anyway). */
export function operatorMay(session: Session | null, permission: OperatorPermission): boolean {
  return session?.kind === "operator" && (session.permissions ?? []).includes(permission);
}
