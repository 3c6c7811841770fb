// The explorer's query lives in the URL, so a view can be shared: every control reads from
// and writes to the search parameters. Unknown or malformed values fall back to defaults.
import { isTimeZone, RANGE_PRESETS, type RangePreset } from "../../lib/timeRange";
import type { WindowSize } from "../../lib/format";

export interface UsageQueryState {
  meter: string; // "" = every meter
  range: RangePreset;
  fromDate?: string; // YYYY-MM-DD, custom ranges only
  toDate?: string;
  window: WindowSize;
  tz: string;
  groupBy: string[];
  bySubject: boolean;
}

const WINDOWS: WindowSize[] = ["minute", "hour", "day", "month"];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function defaultState(timeZone: string): UsageQueryState {
  return { meter: "", range: "7d", window: "day", tz: timeZone, groupBy: [], bySubject: false };
}

export function readState(params: URLSearchParams, fallbackZone: string): UsageQueryState {
  const state = defaultState(fallbackZone);
  const range = params.get("range");
  if (range && RANGE_PRESETS.some((p) => p.value === range)) state.range = range as RangePreset;
  const window = params.get("window");
  if (window && (WINDOWS as string[]).includes(window)) state.window = window as WindowSize;
  const tz = params.get("tz");
  if (tz && isTimeZone(tz)) state.tz = tz;
  state.meter = params.get("meter") ?? "";
  state.groupBy = params.getAll("group_by").filter(Boolean);
  state.bySubject = params.get("subject") === "1";
  const from = params.get("from");
  const to = params.get("to");
  if (state.range === "custom") {
    state.fromDate = from && DATE.test(from) ? from : undefined;
    state.toDate = to && DATE.test(to) ? to : undefined;
  }
  return state;
}

export function writeState(state: UsageQueryState): URLSearchParams {
  const params = new URLSearchParams();
  if (state.meter) params.set("meter", state.meter);
  params.set("range", state.range);
  if (state.range === "custom") {
    if (state.fromDate) params.set("from", state.fromDate);
    if (state.toDate) params.set("to", state.toDate);
  }
  params.set("window", state.window);
  params.set("tz", state.tz);
  state.groupBy.forEach((g) => params.append("group_by", g));
  if (state.bySubject) params.set("subject", "1");
  return params;
}
