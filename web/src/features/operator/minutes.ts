// The ingest chart's minutes: the API lists only minutes with events; the chart shows them all.

export interface MinuteCounts {
  as_of: string;
  window_minutes: number;
  ingest_per_minute?: { minute: string; events: number }[] | null;
}

/** Every minute (UTC "HH:MM") of the window ending with `as_of`'s minute, those without events as 0. */
export function minuteSeries(health: MinuteCounts): { minute: string; events: number }[] {
  const counts = new Map((health.ingest_per_minute ?? []).map((m) => [new Date(m.minute).getTime(), m.events]));
  const end = Math.floor(new Date(health.as_of).getTime() / 60_000) * 60_000;
  return Array.from({ length: health.window_minutes }, (_, i) => {
    const at = end - (health.window_minutes - 1 - i) * 60_000;
    return { minute: new Date(at).toISOString().slice(11, 16), events: counts.get(at) ?? 0 };
  });
}
