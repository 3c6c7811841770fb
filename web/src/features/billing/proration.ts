// What a plan change does to the period's flat fees, before confirming it. The API has no
// preview of a change (POST /v1/subscriptions/current/change-plan takes effect at once), so
// this computes the flat-fee part as billing_jobs/invoicing.py does: fee x seconds under the
// plan / seconds in the period, rounded once, half up, to the minor unit. Usage is rated
// under whichever plan was in force when it happened; that part depends on usage to come.

/** An exact decimal string ("49.00", "0.5") as an integer scaled by 10^scale. */
function scaled(amount: string): { value: bigint; scale: number } {
  const negative = amount.startsWith("-");
  const [whole, fraction = ""] = amount.replace(/^[-+]/, "").split(".");
  const value = BigInt((whole || "0") + fraction);
  return { value: negative ? -value : value, scale: fraction.length };
}

/** `fee` (major units, exact decimal) x part / whole in integer minor units, rounded half up. */
export function prorateMinor(fee: string, partSeconds: number, wholeSeconds: number, minorDigits: number): bigint {
  const { value, scale } = scaled(fee);
  const numerator = value * BigInt(partSeconds) * 10n ** BigInt(minorDigits);
  const denominator = 10n ** BigInt(scale) * BigInt(wholeSeconds);
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  const rounded = (2n * magnitude + denominator) / (2n * denominator);
  return negative ? -rounded : rounded;
}

export interface PlanChangeEffect {
  periodStart: Date; periodEnd: Date; at: Date;
  /** The current plan's fee for its part of the period (from its start or the period's, to now). */
  currentMinor: bigint; currentSeconds: number;
  /** The new plan's fee for the rest of the period. */
  nextMinor: bigint; nextSeconds: number;
  wholeSeconds: number;
}

/** The calendar month (UTC) that `at` falls in: the billing period. */
export function monthPeriod(at: Date): { start: Date; end: Date } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { start, end };
}

export function planChangeEffect(currentFee: string, nextFee: string, startedAt: Date, at: Date,
                                 minorDigits: number): PlanChangeEffect {
  const period = monthPeriod(at);
  const seconds = (from: Date, to: Date) => Math.max(0, Math.floor((to.getTime() - from.getTime()) / 1000));
  const wholeSeconds = seconds(period.start, period.end);
  const from = startedAt > period.start ? startedAt : period.start;
  const currentSeconds = seconds(from, at);
  const nextSeconds = seconds(at, period.end);
  return {
    periodStart: period.start, periodEnd: period.end, at, wholeSeconds, currentSeconds, nextSeconds,
    currentMinor: prorateMinor(currentFee, currentSeconds, wholeSeconds, minorDigits),
    nextMinor: prorateMinor(nextFee, nextSeconds, wholeSeconds, minorDigits),
  };
}
