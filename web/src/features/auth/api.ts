import { api, type Schemas } from "../../lib/api";
import { setSession, userSession } from "../../lib/session";

export async function signIn(email: string, password: string): Promise<void> {
  const token = await api<Schemas["AccessTokenPublic"]>("/v1/auth/login", {
    method: "POST", body: { email, password }, anonymous: true,
  });
  setSession(userSession(token, email));
}

/** Checks the operator token against an operator-only read before keeping it. */
export async function signInOperator(token: string): Promise<void> {
  await fetchAsOperator(token);
  setSession({ kind: "operator", token });
}

async function fetchAsOperator(token: string): Promise<void> {
  const now = new Date();
  const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
  const response = await fetch(`/v1/operator/analytics/subscriptions?from=${month}&months=1`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(response.status === 401 ? "That is not the operator token." : `The API answered ${response.status}.`);
}

export type Registration = Schemas["TenantRegistrationPublic"];

export async function register(body: Schemas["TenantCreate"]): Promise<Registration> {
  const done = await api<Registration>("/v1/tenants", { method: "POST", body, anonymous: true });
  setSession(userSession(done.access_token, body.owner_email));
  return done;
}
