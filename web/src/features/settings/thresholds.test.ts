import { describe, expect, it } from "vitest";
import { parseThresholds, problemsText, thresholdsText } from "./thresholds";

const RULES = { min: 1, max: 1000, maxCount: 10 };

describe("alert thresholds typed in Settings", () => {
  it.each([
    ["80, 100", [80, 100]],
    ["100 80", [80, 100]],
    [" 50%, 150% ;1000 ", [50, 150, 1000]],
    ["1", [1]],
  ])("reads %j as %j, ascending", (text, percents) => {
    expect(parseThresholds(text, RULES)).toEqual({ ok: true, percents });
  });

  it.each([
    ["", "Give at least one threshold."],
    [" , ", "Give at least one threshold."],
    ["0", "0% is outside 1–1000%."],
    ["1001", "1001% is outside 1–1000%."],
    ["12.5", '"12.5" is not a whole number of percent.'],
    ["-5", '"-5" is not a whole number of percent.'],
    ["eighty", '"eighty" is not a whole number of percent.'],
    ["80, 90, 80", "80% is given twice."],
    ["1 2 3 4 5 6 7 8 9 10 11", "At most 10 thresholds."],
  ])("refuses %j: %s", (text, problem) => {
    expect(parseThresholds(text, RULES)).toEqual({ ok: false, problem });
  });

  it("writes them back as typed", () => {
    expect(thresholdsText([50, 80, 100])).toBe("50, 80, 100");
  });

  it("names the sent value an API problem points at", () => {
    expect(problemsText([{ field: "percents.2", reason: "80 is already at position 0" }], [80, 90, 80]))
      .toBe("80%: 80 is already at position 0");
    expect(problemsText([{ field: "percents", reason: "at most 10 thresholds" }], [1])).toBe("at most 10 thresholds");
  });
});
