// Rows of the usage answer pivoted for the chart: one point per window, one series per
// meter and group (and subject). The chart plots numbers; the table shows the exact strings.
import { chartValue } from "../../lib/format";
import type { UsageRow } from "./api";

export const MAX_SERIES = 8;

/** The series a row belongs to within its meter's chart: its group and subject ("all" without either). */
export function seriesKey(row: UsageRow): string {
  const group = Object.entries(row.group).map(([k, v]) => `${k}=${v ?? "∅"}`);
  const parts = [...group, ...(row.subject !== null ? [`subject=${row.subject}`] : [])];
  return parts.length ? parts.join(" · ") : row.meter;
}

/** Rows per meter, in order of first appearance: each meter gets its own chart and scale. */
export function byMeter(rows: UsageRow[]): [string, UsageRow[]][] {
  const meters = new Map<string, UsageRow[]>();
  for (const row of rows) meters.set(row.meter, [...(meters.get(row.meter) ?? []), row]);
  return [...meters.entries()];
}

export interface Pivot { points: Record<string, number | string>[]; series: string[]; hidden: number }

export function pivot(rows: UsageRow[]): Pivot {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(seriesKey(row), (totals.get(seriesKey(row)) ?? 0) + chartValue(row.quantity));
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([key]) => key);
  const series = ranked.slice(0, MAX_SERIES);
  const shown = new Set(series);
  const byWindow = new Map<string, Record<string, number | string>>();
  for (const row of rows) {
    const key = seriesKey(row);
    if (!shown.has(key)) continue;
    const instant = new Date(row.window_start).toISOString();
    const point = byWindow.get(instant) ?? { window: row.window_start };
    point[key] = chartValue(row.quantity);
    byWindow.set(instant, point);
  }
  const points = [...byWindow.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, point]) => point);
  return { points, series, hidden: ranked.length - series.length };
}
