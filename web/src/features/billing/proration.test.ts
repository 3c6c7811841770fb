import { describe, expect, it } from "vitest";
import { monthPeriod, planChangeEffect, prorateMinor } from "./proration";

describe("prorating a flat fee", () => {
  it("multiplies before dividing and rounds once, half up, to the minor unit", () => {
    expect(prorateMinor("49.00", 15 * 86400, 30 * 86400, 2)).toBe(2450n);
    expect(prorateMinor("10", 1, 3, 2)).toBe(333n);          // 3.333… -> 3.33
    expect(prorateMinor("0.05", 1, 2, 2)).toBe(3n);          // 0.025 -> 0.03 (half up)
    expect(prorateMinor("1000", 1, 3, 0)).toBe(333n);        // a currency without minor units
    expect(prorateMinor("49.00", 0, 100, 2)).toBe(0n);
  });

  it("splits the period at the change: the current plan up to now, the new one after", () => {
    const at = new Date("2026-11-16T00:00:00Z"); // half of November
    const effect = planChangeEffect("49.00", "199.00", new Date("2026-10-03T00:00:00Z"), at, 2);
    expect(effect.periodStart.toISOString()).toBe("2026-11-01T00:00:00.000Z");
    expect(effect.wholeSeconds).toBe(30 * 86400);
    expect(effect.currentSeconds).toBe(15 * 86400);
    expect(effect.currentMinor).toBe(2450n);
    expect(effect.nextMinor).toBe(9950n);
  });

  it("counts the current plan from its own start when it began inside the period", () => {
    const effect = planChangeEffect("30", "60", new Date("2026-11-11T00:00:00Z"), new Date("2026-11-21T00:00:00Z"), 2);
    expect(effect.currentSeconds).toBe(10 * 86400);
    expect(effect.currentMinor).toBe(1000n);
    expect(effect.nextMinor).toBe(2000n);
    expect(monthPeriod(new Date("2026-12-31T23:59:59Z")).end.toISOString()).toBe("2027-01-01T00:00:00.000Z");
  });
});
