import { useQuery } from "@tanstack/react-query";
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

export function useReport<K extends keyof Reports>(name: K, from: string, months: number) {
  const [path, extra] = PATHS[name];
  return useQuery({
    queryKey: ["operator", name, from, months],
    queryFn: () => api<Reports[K]>(`/v1/operator/analytics/${path}`, { query: { from, months, ...extra } }),
  });
}
