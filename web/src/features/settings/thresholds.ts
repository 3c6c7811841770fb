// A tenant's limit-alert thresholds as typed in Settings ("50, 80, 100"): read into the
// percents the API takes, with the API's own rules (billing_jobs/limits.py threshold_problems)
// checked first so a typo is explained before anything is sent. The API checks again.

export interface ThresholdRules { min: number; max: number; maxCount: number }

export type Parsed = { ok: true; percents: number[] } | { ok: false; problem: string };

export function parseThresholds(text: string, rules: ThresholdRules): Parsed {
  const parts = text.split(/[\s,;]+/).map((part) => part.replace(/%$/, "")).filter(Boolean);
  if (parts.length === 0) return { ok: false, problem: "Give at least one threshold." };
  if (parts.length > rules.maxCount) return { ok: false, problem: `At most ${rules.maxCount} thresholds.` };
  const seen = new Set<number>();
  for (const part of parts) {
    if (!/^\d+$/.test(part)) return { ok: false, problem: `"${part}" is not a whole number of percent.` };
    const value = Number(part);
    if (value < rules.min || value > rules.max) {
      return { ok: false, problem: `${value}% is outside ${rules.min}–${rules.max}%.` };
    }
    if (seen.has(value)) return { ok: false, problem: `${value}% is given twice.` };
    seen.add(value);
  }
  return { ok: true, percents: [...seen].sort((a, b) => a - b) };
}

/** How the thresholds read in the input and on screen: "50, 80, 100". */
export function thresholdsText(percents: number[]): string {
  return percents.join(", ");
}

/** The API's field problems ("percents.2": "80 is already at position 0") in words. */
export function problemsText(problems: { field: string; reason: string }[], sent: number[]): string {
  return problems.map(({ field, reason }) => {
    const index = Number(field.split(".")[1]);
    return Number.isInteger(index) && index < sent.length ? `${sent[index]}%: ${reason}` : reason;
  }).join("; ");
}
