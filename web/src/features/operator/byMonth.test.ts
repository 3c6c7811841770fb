import { describe, expect, it } from "vitest";
import { byMonth, seriesOf } from "./byMonth";

const rows = [
  { month: "2026-10", currency: "EUR", mrr: 0 },
  { month: "2026-10", currency: "USD", mrr: 5 },
  { month: "2026-11", currency: "USD", mrr: 60 },
  { month: "2026-11", currency: "EUR", mrr: 12 },
];

describe("byMonth", () => {
  it("makes one point per month with each currency under its own key", () => {
    expect(byMonth(rows, (r) => ({ [`MRR ${r.currency}`]: r.mrr }))).toEqual([
      { month: "2026-10", "MRR EUR": 0, "MRR USD": 5 },
      { month: "2026-11", "MRR USD": 60, "MRR EUR": 12 },
    ]);
  });

  it("orders months even when the rows do not", () => {
    const points = byMonth([rows[2], rows[0]], (r) => ({ [r.currency]: r.mrr }));
    expect(points.map((p) => p.month)).toEqual(["2026-10", "2026-11"]);
  });

  it("keeps a month whose value is unknown (null) as a point", () => {
    expect(byMonth([{ month: "2026-12", arpu: null }], (r) => ({ USD: r.arpu }))).toEqual([{ month: "2026-12", USD: null }]);
  });
});

describe("seriesOf", () => {
  it("names each series once, in the order rows first name it", () => {
    expect(seriesOf(rows, (r) => [r.currency])).toEqual(["EUR", "USD"]);
  });
});
