import { api, type Schemas } from "../../lib/api";
import { setSession, userSession, type OperatorPermission } from "../../lib/session";

export async function signIn(email: string, password: string): Promise<void> {
  const token = await api<Schemas["AccessTokenPublic"]>("/v1/auth/login", {
    method: "POST", body: { email, password }, anonymous: true,
  });
  setSession(userSession(token, email));
}

/** An operator account's sign-in: its token, then GET /v1/operator/me for what its role may do. */
export async function signInOperator(email: string, password: string): Promise<void> {
  const token = await api<Schemas["OperatorTokenPublic"]>("/v1/operator/auth/login", {
    method: "POST", body: { email, password }, anonymous: true,
  });
  const response = await fetch("/v1/operator/me", { headers: { Authorization: `Bearer ${token.access_token}` } });
  if (!response.ok) throw new Error(`The API answered ${response.status} for this operator account.`);
  const me = (await response.json()) as Schemas["OperatorPublic"];
  setSession({ kind: "operator", token: token.access_token, expiresAt: token.expires_at, email: me.email,
               role: me.role, permissions: me.permissions as OperatorPermission[] });
}

export type Registration = Schemas["TenantRegistrationPublic"];

export async function register(body: Schemas["TenantCreate"]): Promise<Registration> {
  const done = await api<Registration>("/v1/tenants", { method: "POST", body, anonymous: true });
  setSession(userSession(done.access_token, body.owner_email));
  return done;
}
