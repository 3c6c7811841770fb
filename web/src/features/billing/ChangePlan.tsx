// Changing plan: pick one of the catalogue, see what the change does to this period's flat
// fees (computed as the invoice prorates them; the API offers no preview), then confirm.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ErrorState } from "../../components/States";
import { api, type Schemas } from "../../lib/api";
import { formatInstant, formatMoney, minorDigits, minorToDecimal } from "../../lib/format";
import type { Subscription } from "../../lib/tenant";
import { planChangeEffect } from "./proration";

type Plan = Schemas["Plan"];

function days(seconds: number, locale: string): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(seconds / 86400);
}

export function ChangePlan({ current, locale }: { current: Subscription; locale: string }) {
  const queries = useQueryClient();
  const plans = useQuery({ queryKey: ["plans"], queryFn: () => api<Plan[]>("/v1/plans") });
  const [choice, setChoice] = useState("");
  const [at, setAt] = useState<Date | null>(null);
  const change = useMutation({
    mutationFn: (slug: string) => api<Subscription>("/v1/subscriptions/current/change-plan", { method: "POST", body: { plan_slug: slug } }),
    onSuccess: () => { setChoice(""); setAt(null); return queries.invalidateQueries(); },
  });
  // Only plans in the tenant's currency: a change keeps the period on one invoice.
  const others = (plans.data ?? []).filter((p) => p.slug !== current.plan.slug && p.currency === current.plan.currency);
  const next = others.find((p) => p.slug === choice) ?? null;
  const currency = current.plan.currency;
  const money = (minor: bigint) => formatMoney(minorToDecimal(minor, currency), currency, locale);
  const effect = next && at ? planChangeEffect(current.plan.flat_fee, next.flat_fee, new Date(current.started_at), at, minorDigits(currency)) : null;

  return (
    <div className="change-plan">
      <h3>Change plan</h3>
      {plans.error && <ErrorState error={plans.error} />}
      <div className="controls">
        <label>New plan<select value={choice} onChange={(e) => { setChoice(e.target.value); setAt(e.target.value ? new Date() : null); }}>
          <option value="">Choose a plan…</option>
          {others.map((p) => <option key={p.slug} value={p.slug}>{p.name} ({formatMoney(p.flat_fee, p.currency, locale)} per {p.interval})</option>)}
        </select></label>
      </div>
      {next && effect && (
        <div className="confirm" role="alertdialog" aria-label="Confirm plan change">
          <p>The change takes effect <strong>now</strong>: {current.plan.name} ends and {next.name} starts at the same instant.
            This period's invoice ({formatInstant(effect.periodStart.toISOString(), "UTC", locale)} to{" "}
            {formatInstant(effect.periodEnd.toISOString(), "UTC", locale)} UTC) prorates both flat fees by the second:</p>
          <table className="inner" data-testid="proration">
            <tbody>
              <tr><td>{current.plan.name}: {days(effect.currentSeconds, locale)} of {days(effect.wholeSeconds, locale)} days</td>
                <td className="num" data-testid="prorated-current">{money(effect.currentMinor)}</td></tr>
              <tr><td>{next.name}: {days(effect.nextSeconds, locale)} of {days(effect.wholeSeconds, locale)} days</td>
                <td className="num" data-testid="prorated-next">{money(effect.nextMinor)}</td></tr>
              <tr><th scope="row">Flat fees this period</th><td className="num" data-testid="prorated-total">{money(effect.currentMinor + effect.nextMinor)}</td></tr>
            </tbody>
          </table>
          <p className="muted small">Computed here as the invoice computes it, as of {formatInstant(at!.toISOString(), "UTC", locale, true)} UTC;
            usage is rated under the plan in force when it happened, so usage charges are not part of this figure.</p>
          <button type="button" onClick={() => change.mutate(next.slug)} disabled={change.isPending}>Change to {next.name}</button>
          <button type="button" className="secondary" onClick={() => { setChoice(""); setAt(null); }}>Keep {current.plan.name}</button>
          {change.error && <ErrorState error={change.error} />}
        </div>
      )}
    </div>
  );
}
