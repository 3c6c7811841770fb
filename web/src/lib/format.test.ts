import { describe, expect, it } from "vitest";
import { formatMinor, formatMoney, formatUnitPrice, formatQuantity, minorDigits, minorToDecimal } from "./format";

describe("formatQuantity keeps every digit", () => {
  it.each([
    ["4211380", "en-US", "4,211,380"],
    ["4211380.000000000001", "en-US", "4,211,380.000000000001"],
    ["12345678901234567890.5", "en-US", "12,345,678,901,234,567,890.5"],
    ["-1234.5", "en-US", "-1,234.5"],
    ["1234.5", "de-DE", "1.234,5"],
    ["0.1", "en-US", "0.1"],
    ["1234567.25", "fr-FR", "1\u202f234\u202f567,25"],
  ])("%s in %s", (value, locale, shown) => {
    expect(formatQuantity(value, locale)).toBe(shown);
  });

  it("shows a dash for missing values and the API's text for anything else", () => {
    expect(formatQuantity(null, "en-US")).toBe("–");
    expect(formatQuantity("NaN", "en-US")).toBe("NaN");
  });
});

describe("money", () => {
  it.each([
    [12345, "USD", "123.45"], [-5, "USD", "-0.05"], [0, "EUR", "0.00"], [1500, "JPY", "1500"], [1234, "KWD", "1.234"],
  ])("%i minor %s is %s", (minor, currency, decimal) => {
    expect(minorToDecimal(minor, currency)).toBe(decimal);
  });

  it("knows the currencies' minor units", () => {
    expect([minorDigits("USD"), minorDigits("JPY"), minorDigits("KWD")]).toEqual([2, 0, 3]);
  });

  it("formats in the locale's currency style, exactly", () => {
    expect(formatMinor(123456789, "USD", "en-US")).toBe("$1,234,567.89");
    expect(formatMinor(123456789, "EUR", "de-DE")).toBe("1.234.567,89\u00a0€");
    // As a float, 90071992547409.93 is 90071992547409.9375: the exact string must not round through one.
    expect(formatMoney("90071992547409.93", "USD", "en-US")).toBe("$90,071,992,547,409.93");
    expect(formatMinor(-1999, "USD", "en-US")).toBe("-$19.99");
    expect(formatUnitPrice("0.00001", "USD", "en-US")).toBe("$0.00001");
    expect(formatUnitPrice("2", "EUR", "de-DE")).toBe("2,00\u00a0€");
    expect(formatMoney("0.10", "USD", "en-US")).toBe("$0.10");
  });
});
