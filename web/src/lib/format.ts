// Numbers and times for people, in the viewer's locale. Quantities arrive from the API as
// decimal strings and are never turned into floats for display: a float would print
// 0.1 + 0.2 digits, or round a large token count. Money arrives as integer minor units
// (invoices) or decimal strings (analytics); both are formatted from their exact text.

const groupFormats = new Map<string, Intl.NumberFormat>();

function integerFormat(locale: string): Intl.NumberFormat {
  let format = groupFormats.get(locale);
  if (!format) {
    format = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
    groupFormats.set(locale, format);
  }
  return format;
}

function decimalSeparator(locale: string): string {
  return new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === "decimal")?.value ?? ".";
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** A decimal string with the locale's grouping and separator, every digit kept ("4211380.25" -> "4,211,380.25"). */
export function formatQuantity(value: string | null | undefined, locale: string): string {
  if (value === null || value === undefined || value === "") return "–";
  const match = DECIMAL.exec(value.trim());
  if (!match) return value; // not a plain decimal: show it as the API wrote it
  const [, sign, whole, fraction] = match;
  const grouped = integerFormat(locale).format(BigInt(whole));
  return `${sign}${grouped}${fraction ? decimalSeparator(locale) + fraction : ""}`;
}

/** The number of minor units in one unit of `currency` (2 for USD, 0 for JPY, 3 for KWD). */
export function minorDigits(currency: string): number {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Integer minor units as an exact decimal string: (12345, "USD") -> "123.45". */
export function minorToDecimal(minor: number | bigint, currency: string): string {
  const digits = minorDigits(currency);
  const negative = BigInt(minor) < 0n;
  const text = (negative ? -BigInt(minor) : BigInt(minor)).toString().padStart(digits + 1, "0");
  const whole = text.slice(0, text.length - digits);
  const fraction = digits ? "." + text.slice(text.length - digits) : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/** A decimal amount (exact string) in `currency`, in the locale's currency format. */
export function formatMoney(amount: string, currency: string, locale: string): string {
  // Intl formats a numeric *string* as an exact decimal (ECMA-402 NumberFormat v3): no float on the way.
  const format = new Intl.NumberFormat(locale, { style: "currency", currency });
  return format.format(amount as unknown as number);
}

/** A price per unit: at least the currency's digits, and every further digit it has ($0.002). */
export function formatUnitPrice(amount: string, currency: string, locale: string): string {
  const format = new Intl.NumberFormat(locale, {
    style: "currency", currency, minimumFractionDigits: minorDigits(currency), maximumFractionDigits: 20,
  });
  return format.format(amount as unknown as number);
}

export function formatMinor(minor: number, currency: string, locale: string): string {
  return formatMoney(minorToDecimal(minor, currency), currency, locale);
}

/** A count of things (integers from the API), grouped. */
export function formatCount(value: number, locale: string): string {
  return integerFormat(locale).format(value);
}

export function formatPercent(fraction: string | null, locale: string): string {
  if (fraction === null) return "–";
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 2 })
    .format(fraction as unknown as number);
}

/** An instant in `timeZone`, e.g. "Dec 6, 2026, 09:15" for en-US. */
export function formatInstant(iso: string, timeZone: string, locale: string, withSeconds = false): string {
  return new Intl.DateTimeFormat(locale, {
    timeZone, year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    second: withSeconds ? "2-digit" : undefined, hourCycle: "h23",
  }).format(new Date(iso));
}

export type WindowSize = "minute" | "hour" | "day" | "month";

/** A window's start labelled as precisely as its size needs, in `timeZone`. */
export function formatWindowStart(iso: string, window: WindowSize, timeZone: string, locale: string): string {
  const options: Intl.DateTimeFormatOptions =
    window === "month" ? { year: "numeric", month: "short" }
      : window === "day" ? { year: "numeric", month: "short", day: "numeric" }
        : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  return new Intl.DateTimeFormat(locale, { timeZone, ...options }).format(new Date(iso));
}

/** "12 s ago", "3 min ago": how old a watermark is. */
export function formatAge(iso: string, now: Date, locale: string): string {
  const seconds = Math.max(0, Math.round((now.getTime() - new Date(iso).getTime()) / 1000));
  const relative = new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "short" });
  if (seconds < 60) return relative.format(-seconds, "second");
  if (seconds < 3600) return relative.format(-Math.floor(seconds / 60), "minute");
  if (seconds < 86400) return relative.format(-Math.floor(seconds / 3600), "hour");
  return relative.format(-Math.floor(seconds / 86400), "day");
}

/** The chart's y value: geometry only, never shown as text (the table shows the exact string). */
export function chartValue(quantity: string): number {
  return Number(quantity);
}

/** A date in `timeZone`, e.g. "Dec 6, 2026". */
export function formatDate(iso: string, timeZone: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { timeZone, year: "numeric", month: "short", day: "numeric" })
    .format(new Date(iso));
}
