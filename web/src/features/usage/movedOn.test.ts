import { describe, expect, it } from "vitest";
import { sameButMovedOn } from "./api";

const last24h = { meter: "searches", window: "minute", tz: "UTC", from: "2026-12-05T11:20:00Z", to: "2026-12-06T11:20:00Z" };

describe("a usage query that moved on with the clock", () => {
  it("keeps the last answer on screen for the same range a minute later", () => {
    expect(sameButMovedOn(last24h, { ...last24h, from: "2026-12-05T11:21:00Z", to: "2026-12-06T11:21:00Z" })).toBe(true);
    const month = { ...last24h, from: "2026-12-01T00:00:00Z" };
    expect(sameButMovedOn(month, { ...month, to: "2026-12-06T11:21:00Z" })).toBe(true);
  });

  it("does not when the person changed the range or anything else", () => {
    expect(sameButMovedOn(last24h, { ...last24h, from: "2026-11-30T00:00:00Z", to: "2026-12-06T11:21:00Z" })).toBe(false);
    expect(sameButMovedOn(last24h, { ...last24h, window: "hour" })).toBe(false);
    expect(sameButMovedOn(last24h, { ...last24h, meter: "other", to: "2026-12-06T11:21:00Z" })).toBe(false);
    expect(sameButMovedOn(undefined, last24h)).toBe(false);
  });
});
