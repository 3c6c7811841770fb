import { describe, expect, it } from "vitest";
import { apiInstant, dateIn, offsetMinutes, resolveRange, zonedTime } from "./timeRange";

const at = (iso: string) => new Date(iso);

describe("zone offsets and local times", () => {
  it.each([
    ["2026-07-01T12:00:00Z", "Europe/Berlin", 120],
    ["2026-12-01T12:00:00Z", "Europe/Berlin", 60],
    ["2026-12-01T12:00:00Z", "Asia/Kolkata", 330],
    ["2026-12-01T12:00:00Z", "America/New_York", -300],
    ["2026-12-01T12:00:00Z", "UTC", 0],
  ])("%s in %s is %i minutes ahead", (iso, zone, minutes) => {
    expect(offsetMinutes(at(iso), zone)).toBe(minutes);
  });

  it("finds the instant a wall clock reads, across DST changes", () => {
    expect(zonedTime(2026, 12, 1, "Asia/Tokyo").toISOString()).toBe("2026-11-30T15:00:00.000Z");
    expect(zonedTime(2026, 3, 29, "Europe/Berlin").toISOString()).toBe("2026-03-28T23:00:00.000Z");
    expect(zonedTime(2026, 3, 30, "Europe/Berlin").toISOString()).toBe("2026-03-29T22:00:00.000Z");
    expect(zonedTime(2026, 11, 1, "America/New_York").toISOString()).toBe("2026-11-01T04:00:00.000Z");
    expect(zonedTime(2026, 1, 1, "Asia/Kolkata").toISOString()).toBe("2025-12-31T18:30:00.000Z");
  });
});

describe("ranges", () => {
  const now = at("2026-12-06T09:15:30Z");

  it("this month starts at midnight on the 1st in the chosen zone", () => {
    expect(resolveRange("month", "Asia/Tokyo", now).from.toISOString()).toBe("2026-11-30T15:00:00.000Z");
    expect(resolveRange("month", "UTC", now)).toEqual({ from: at("2026-12-01T00:00:00Z"), to: at("2026-12-06T09:16:00Z") });
  });

  it("last month is a whole month in the zone, January wrapping to December", () => {
    const range = resolveRange("last-month", "America/New_York", at("2027-01-10T12:00:00Z"));
    expect(range).toEqual({ from: at("2026-12-01T05:00:00Z"), to: at("2027-01-01T05:00:00Z") });
  });

  it("the last 7 days start at midnight six days ago, a DST day lasting 25 hours", () => {
    const range = resolveRange("7d", "Europe/Berlin", at("2026-10-28T10:00:00Z"));
    expect(range.from.toISOString()).toBe("2026-10-21T22:00:00.000Z");
  });

  it("custom dates include the last date", () => {
    const range = resolveRange("custom", "Europe/Berlin", now, "2026-10-24", "2026-10-25");
    expect(range).toEqual({ from: at("2026-10-23T22:00:00Z"), to: at("2026-10-25T23:00:00Z") });
  });

  it("the last 24 hours end at the next whole minute", () => {
    expect(resolveRange("24h", "UTC", now)).toEqual({ from: at("2026-12-05T09:16:00Z"), to: at("2026-12-06T09:16:00Z") });
  });

  it("writes instants as the API wants them and dates as the zone sees them", () => {
    expect(apiInstant(at("2026-12-06T09:16:00.000Z"))).toBe("2026-12-06T09:16:00Z");
    expect(dateIn(at("2026-12-06T23:30:00Z"), "Asia/Tokyo")).toBe("2026-12-07");
  });
});
