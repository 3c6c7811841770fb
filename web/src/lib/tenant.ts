// Reads every tenant page shares: the subscription (its plan gives the tenant's currency and
// limits) and the meters. Server state lives in TanStack Query's cache, not a global store.
import { useQuery } from "@tanstack/react-query";
import { api, ApiError, type Schemas } from "./api";

export type Subscription = Schemas["SubscriptionPublic"];
export type Meter = Schemas["MeterPublic"];

export function useSubscription() {
  return useQuery({
    queryKey: ["subscription"],
    // No subscription yet is a state of the tenant, not an error.
    queryFn: () => api<Subscription>("/v1/subscriptions/current").catch((error) => {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }),
  });
}

export function useMeters() {
  return useQuery({ queryKey: ["meters"], queryFn: () => api<Meter[]>("/v1/meters") });
}

/** The tenant's currency: its plan's; USD until it subscribes. */
export function useCurrency(): string {
  return useSubscription().data?.plan.currency ?? "USD";
}
