import { queryOptions, useQuery, type QueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../lib/api";

export type Reports = {
  mrr: Schemas["MrrReport"]; subscriptions: Schemas["SubscriptionsReport"]; churn: Schemas["ChurnReport"];
  arpu: Schemas["ArpuReport"]; revenue: Schemas["RevenueReport"]; topRevenue: Schemas["TopRevenueReport"];
  topUsage: Schemas["TopUsageReport"]; usage: Schemas["UsageReport"];
};

const PATHS: Record<keyof Reports, [string, Record<string, string | number>?]> = {
  mrr: ["mrr"], subscriptions: ["subscriptions"], churn: ["churn"], arpu: ["arpu"],
  revenue: ["revenue", { by: "plan" }], topRevenue: ["revenue/top", { limit: 10 }],
  topUsage: ["usage/top", { limit: 10 }], usage: ["usage"],
};

/** "YYYY-MM" of the month `count - 1` months before `now`'s (UTC): the first of `count` months up to now. */
export function firstMonth(now: Date, count: number): string {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (count - 1), 1));
  return `${start.getUTCFullYear()}-${String(start.getUTCMonth() + 1).padStart(2, "0")}`;
}

export function reportQuery<K extends keyof Reports>(name: K, from: string, months: number) {
  const [path, extra] = PATHS[name];
  return queryOptions({
    queryKey: ["operator", name, from, months],
    queryFn: () => api<Reports[K]>(`/v1/operator/analytics/${path}`, { query: { from, months, ...extra } }),
  });
}

export function useReport<K extends keyof Reports>(name: K, from: string, months: number) {
  return useQuery(reportQuery(name, from, months));
}

/** The months the console and the pipeline show first. */
export const DEFAULT_MONTHS = 6;
export const CONSOLE_REPORTS = ["mrr", "subscriptions", "churn", "arpu", "revenue", "topRevenue", "topUsage"] as const;

export type Health = Schemas["PipelineHealthPublic"];
export const PIPELINE_REFRESH_MS = 5_000;
export const pipelineQuery = queryOptions({
  queryKey: ["operator", "pipeline"],
  queryFn: () => api<Health>("/v1/operator/analytics/pipeline"),
});

// Started as the app starts on these pages (App.tsx), beside the page's own chunk and the
// charts library it needs: the requests no longer wait for that code to arrive and run.
export function prefetchConsole(client: QueryClient): void {
  const from = firstMonth(new Date(), DEFAULT_MONTHS);
  CONSOLE_REPORTS.forEach((name) => void client.prefetchQuery(reportQuery(name, from, DEFAULT_MONTHS)));
}

export function prefetchPipeline(client: QueryClient): void {
  void client.prefetchQuery(reportQuery("usage", firstMonth(new Date(), DEFAULT_MONTHS), DEFAULT_MONTHS));
  void client.prefetchQuery(pipelineQuery);
}

export type TenantStanding = Schemas["TenantStandingPublic"];
export type TenantPage = Schemas["TenantPagePublic"];
export type InvoiceRun = Schemas["InvoiceRunPublic"];

/** One page of GET /v1/operator/tenants (cursor pagination: `cursor` from the previous page). */
export function tenantsPage(cursor: string | null): Promise<TenantPage> {
  return api<TenantPage>("/v1/operator/tenants", { query: { limit: PAGE_SIZE, cursor } });
}

export const PAGE_SIZE = 50;

export function suspendTenant(id: string, reason: string): Promise<TenantStanding> {
  return api<TenantStanding>(`/v1/operator/tenants/${id}/suspend`, { method: "POST", body: { reason } });
}

export function resumeTenant(id: string): Promise<TenantStanding> {
  return api<TenantStanding>(`/v1/operator/tenants/${id}/resume`, { method: "POST" });
}

export function startInvoiceRun(body: Schemas["InvoiceRunCreate"]): Promise<InvoiceRun> {
  return api<InvoiceRun>("/v1/operator/invoice-runs", { method: "POST", body });
}

/** Prefect's final state types: a run in any other state is still going, and is polled. */
const FINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]);
export const isFinal = (run: InvoiceRun) => FINAL.has(run.state_type.toUpperCase());

export function useInvoiceRuns() {
  return useQuery({
    queryKey: ["operator", "invoice-runs"],
    queryFn: () => api<InvoiceRun[]>("/v1/operator/invoice-runs", { query: { limit: 20 } }),
    refetchInterval: (query) => (query.state.data ?? []).some((run) => !isFinal(run)) ? 2_000 : false,
  });
}

/** "YYYY-MM" of the month before `now`'s (UTC): the latest closed period. */
export function lastClosedMonth(now: Date): string {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return `${start.getUTCFullYear()}-${String(start.getUTCMonth() + 1).padStart(2, "0")}`;
}
