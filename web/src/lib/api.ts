// The one way the app talks to the admin API: JSON in and out, the bearer token of the
// session, the API's error shape turned into an ApiError (status, code, field problems),
// and a silent token refresh before giving up on a 401.
import type { components } from "./api-schema";
import { getSession, refreshedSession, setSession, type Session } from "./session";

export type Schemas = components["schemas"];

export interface FieldProblem { field: string; location: string; reason: string }

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code: string,
              readonly problems: FieldProblem[] = []) {
    super(message);
  }
}

type QueryValue = string | number | boolean | string[] | null | undefined;
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Send no token (registration, sign-in). */
  anonymous?: boolean;
}

export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((item) => params.append(name, item));
    else params.append(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; details?: FieldProblem[] } } = {};
  try {
    body = await response.json();
  } catch {
    // not the API's JSON (a gateway's page): the status says enough
  }
  const error = body.error ?? {};
  const retry = response.headers.get("Retry-After");
  const message = (error.message ?? `${response.status} ${response.statusText}`) +
    (response.status === 429 && retry ? ` (try again in ${retry} s)` : "");
  return new ApiError(response.status, message, error.code ?? "http_error", error.details ?? []);
}

async function send(path: string, options: RequestOptions, session: Session | null): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (session && !options.anonymous) headers.Authorization = `Bearer ${session.token}`;
  return fetch(path + queryString(options.query), {
    method: options.method ?? "GET", headers, signal: options.signal,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
}

// One refresh at a time, shared by every request that met a 401 meanwhile: a refresh token
// works once, and presenting it twice would end the session (the API's reuse detection).
let refreshing: Promise<boolean> | null = null;

/** Trades the session's refresh token for a new pair (POST /v1/auth/refresh); false when refused. */
export function refreshSession(): Promise<boolean> {
  const session = getSession();
  if (session?.kind !== "user" || !session.refreshToken) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const response = await send("/v1/auth/refresh", {
        method: "POST", body: { refresh_token: session.refreshToken }, anonymous: true }, null);
      if (!response.ok) return false;
      const tokens = (await response.json()) as Schemas["AccessTokenPublic"];
      // Signed out (or in as someone else) while it was under way: keep what is there now.
      if (getSession() === session) setSession(refreshedSession(session, tokens));
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Ends the session at the API (its access and refresh tokens stop working), then here. */
export async function signOut(): Promise<void> {
  const session = getSession();
  if (session?.kind === "user") {
    try {
      await send("/v1/auth/logout", { method: "POST" }, session);
    } catch {
      // unreachable API: the tokens expire by themselves; the tab forgets them now either way
    }
  }
  setSession(null, "signed-out");
}

/** The raw response of a successful request (CSV exports); ApiError otherwise. */
export async function apiResponse(path: string, options: RequestOptions = {}): Promise<Response> {
  const session = getSession();
  let response = await send(path, options, session);
  if (response.status === 401 && session && !options.anonymous) {
    if (await refreshSession()) response = await send(path, options, getSession());
    if (response.status === 401) {
      setSession(null, "expired");
    }
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await apiResponse(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Where the app's environment is described: the ingest address shown to developers. */
export interface AppConfig { ingest_url: string | null; prefect_url: string | null }

export async function appConfig(): Promise<AppConfig> {
  try {
    const response = await fetch("/app-config.json");
    if (response.ok) return (await response.json()) as AppConfig;
  } catch {
    // served without the API's config (a static host): same-origin defaults below
  }
  return { ingest_url: null, prefect_url: null };
}

/** The ingest endpoint to show: the configured one, else this origin (behind the gateway). */
export function ingestEndpoint(config: AppConfig | undefined): string {
  const base = config?.ingest_url ?? globalThis.location?.origin ?? "";
  return `${base.replace(/\/$/, "")}/v1/events`;
}
