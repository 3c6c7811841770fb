// Time ranges in a chosen IANA time zone, as the usage API wants them: instants at whole
// minutes, `from` inclusive and `to` exclusive. "This month" in Tokyo starts at 15:00 UTC
// on the previous day; a day across a DST change lasts 23 or 25 hours.

export type RangePreset = "24h" | "7d" | "30d" | "month" | "last-month" | "custom";
export const RANGE_PRESETS: { value: RangePreset; label: string }[] = [
  { value: "24h", label: "Last 24 hours" },
  { value: "7d", label: "Last 7 days" },
  { value: "30d", label: "Last 30 days" },
  { value: "month", label: "This month" },
  { value: "last-month", label: "Last month" },
  { value: "custom", label: "Custom dates" },
];

interface LocalParts { year: number; month: number; day: number; hour: number; minute: number }

function partsIn(instant: Date, timeZone: string): LocalParts {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric",
    hourCycle: "h23",
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute") };
}

/** Minutes `timeZone` is ahead of UTC at `instant`. */
export function offsetMinutes(instant: Date, timeZone: string): number {
  const p = partsIn(instant, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  const floored = Math.floor(instant.getTime() / 60000) * 60000;
  return Math.round((asUtc - floored) / 60000);
}

/** The instant when the wall clock of `timeZone` reads this local time (the later one when it repeats,
 * the first valid minute after a gap). Months are 1-based; days and months may overflow. */
export function zonedTime(year: number, month: number, day: number, timeZone: string, hour = 0, minute = 0): Date {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let guess = wall - offsetMinutes(new Date(wall), timeZone) * 60000;
  // The offset at the guess may differ from the offset at the wall-clock reading (near a change).
  guess = wall - offsetMinutes(new Date(guess), timeZone) * 60000;
  return new Date(guess);
}

function startOfDayIn(instant: Date, timeZone: string, addDays = 0): Date {
  const p = partsIn(instant, timeZone);
  return zonedTime(p.year, p.month, p.day + addDays, timeZone);
}

function ceilMinute(instant: Date): Date {
  return new Date(Math.ceil(instant.getTime() / 60000) * 60000);
}

/** "2026-12-06" (a date in the zone) -> the instant that day starts there. */
export function dateStart(date: string, timeZone: string): Date {
  const [year, month, day] = date.split("-").map(Number);
  return zonedTime(year, month, day, timeZone);
}

/** The date (YYYY-MM-DD) `instant` falls on in `timeZone`. */
export function dateIn(instant: Date, timeZone: string): string {
  const p = partsIn(instant, timeZone);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

export interface Range { from: Date; to: Date }

/** The instants a preset means at `now` in `timeZone`; `custom` takes dates, `toDate` included. */
export function resolveRange(preset: RangePreset, timeZone: string, now: Date,
                             fromDate?: string, toDate?: string): Range {
  const end = ceilMinute(now);
  switch (preset) {
    case "24h":
      return { from: new Date(end.getTime() - 24 * 3600_000), to: end };
    case "7d":
      return { from: startOfDayIn(now, timeZone, -6), to: end };
    case "30d":
      return { from: startOfDayIn(now, timeZone, -29), to: end };
    case "month": {
      const p = partsIn(now, timeZone);
      return { from: zonedTime(p.year, p.month, 1, timeZone), to: end };
    }
    case "last-month": {
      const p = partsIn(now, timeZone);
      return { from: zonedTime(p.year, p.month - 1, 1, timeZone), to: zonedTime(p.year, p.month, 1, timeZone) };
    }
    case "custom": {
      const from = dateStart(fromDate ?? dateIn(now, timeZone), timeZone);
      const last = dateStart(toDate ?? dateIn(now, timeZone), timeZone);
      const p = partsIn(last, timeZone);
      return { from, to: zonedTime(p.year, p.month, p.day + 1, timeZone) };
    }
  }
}

/** RFC 3339 in UTC at whole minutes, as the API's `from`/`to` want. */
export function apiInstant(instant: Date): string {
  return new Date(Math.floor(instant.getTime() / 60000) * 60000).toISOString().replace(".000Z", "Z");
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
