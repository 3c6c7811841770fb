import { useQuery } from "@tanstack/react-query";
import { api, apiResponse, type Query, type Schemas } from "../../lib/api";
import { apiInstant, resolveRange } from "../../lib/timeRange";
import type { UsageQueryState } from "./queryState";

export type UsageAnswer = Schemas["UsageQueryPublic"];
export type UsageRow = Schemas["UsageRowPublic"];

// The explorer reads at most this many rows (pages of 1000); the CSV export has them all.
export const MAX_ROWS = 5000;

/** The API parameters of a query at `now` (ranges like "last 7 days" move with time). */
export function apiQuery(state: UsageQueryState, now: Date): Query {
  const range = resolveRange(state.range, state.tz, now, state.fromDate, state.toDate);
  return {
    meter: state.meter || undefined, from: apiInstant(range.from), to: apiInstant(range.to),
    window: state.window, tz: state.tz, group_by: state.groupBy, by_subject: state.bySubject || undefined,
  };
}

/** Every page of the answer (up to MAX_ROWS rows); totals and watermark from the first. */
export async function readUsage(query: Query, signal?: AbortSignal): Promise<UsageAnswer & { truncated: boolean }> {
  const first = await api<UsageAnswer>("/v1/usage/query", { query: { ...query, limit: 1000 }, signal });
  const rows = [...first.rows];
  let cursor = first.next_cursor;
  while (cursor && rows.length < MAX_ROWS) {
    const page = await api<UsageAnswer>("/v1/usage/query", { query: { ...query, limit: 1000, cursor }, signal });
    rows.push(...page.rows);
    cursor = page.next_cursor;
  }
  return { ...first, rows, truncated: cursor !== null };
}

/** Whether `next` is `previous` with its clock-relative range moved on (nothing the person chose changed). */
export function sameButMovedOn(previous: Query | undefined, next: Query): boolean {
  if (!previous) return false;
  const { from: _f, to: _t, ...before } = previous;
  const { from: _nf, to: _nt, ...after } = next;
  const span = (q: Query) => Date.parse(String(q.to)) - Date.parse(String(q.from));
  // Moved on: the same start with a later end ("this month"), or the same length ("last 24 hours").
  const moved = previous.from === next.from || span(previous) === span(next);
  return moved && JSON.stringify(before) === JSON.stringify(after);
}

export function useUsage(query: Query) {
  // Refreshed every 10 s: usage arrives within seconds of ingest, and the view should show it.
  // While a range that moved on with the clock is read, the last answer stays on screen; a
  // query the person changed shows its loading state instead of another query's numbers.
  return useQuery({ queryKey: ["usage", query], queryFn: ({ signal }) => readUsage(query, signal), refetchInterval: 10_000,
                    placeholderData: (previous, previousQuery) =>
                      sameButMovedOn(previousQuery?.queryKey[1] as Query | undefined, query) ? previous : undefined });
}

/** The same query's rows as the API's CSV, saved by the browser. */
export async function downloadCsv(query: Query): Promise<void> {
  const response = await apiResponse("/v1/usage/export", { query });
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "usage.csv";
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
