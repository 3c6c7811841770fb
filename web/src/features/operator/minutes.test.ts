import { describe, expect, it } from "vitest";
import { minuteSeries } from "./minutes";

describe("minuteSeries", () => {
  it("fills quiet minutes with 0 and ends with the minute of as_of", () => {
    const series = minuteSeries({
      as_of: "2026-12-06T10:47:31.5Z", window_minutes: 4,
      ingest_per_minute: [{ minute: "2026-12-06T10:45:00Z", events: 12 }, { minute: "2026-12-06T10:47:00+00:00", events: 3 }],
    });
    expect(series).toEqual([
      { minute: "10:44", events: 0 }, { minute: "10:45", events: 12 }, { minute: "10:46", events: 0 },
      { minute: "10:47", events: 3 },
    ]);
  });

  it("is all zeros when ingest is unavailable (null), never empty", () => {
    const series = minuteSeries({ as_of: "2026-12-06T00:00:10Z", window_minutes: 2, ingest_per_minute: null });
    expect(series).toEqual([{ minute: "23:59", events: 0 }, { minute: "00:00", events: 0 }]);
  });
});
