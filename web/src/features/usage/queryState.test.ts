import { describe, expect, it } from "vitest";
import { readState, writeState } from "./queryState";

describe("the explorer's query in the URL", () => {
  it("round-trips every control", () => {
    const state = { meter: "llm-tokens", range: "custom" as const, fromDate: "2026-11-01", toDate: "2026-11-30",
                    window: "hour" as const, tz: "Asia/Kolkata", groupBy: ["model", "region"], bySubject: true };
    const params = writeState(state);
    expect(params.toString()).toBe(
      "meter=llm-tokens&range=custom&from=2026-11-01&to=2026-11-30&window=hour&tz=Asia%2FKolkata&group_by=model&group_by=region&subject=1");
    expect(readState(new URLSearchParams(params.toString()), "UTC")).toEqual(state);
  });

  it("falls back to defaults for what it cannot read", () => {
    const state = readState(new URLSearchParams("range=forever&window=week&tz=Mars/Olympus&from=yesterday"), "Europe/Paris");
    expect(state).toEqual({ meter: "", range: "7d", window: "day", tz: "Europe/Paris", groupBy: [], bySubject: false });
  });

  it("ignores dates unless the range is custom", () => {
    expect(readState(new URLSearchParams("range=month&from=2026-01-01"), "UTC").fromDate).toBeUndefined();
  });
});
