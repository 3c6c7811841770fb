import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Card, PageHeader } from "../../components/Card";
import { Empty, ErrorState, QueryView } from "../../components/States";
import { api, type Schemas } from "../../lib/api";
import { formatDate, formatMinor, formatMoney, formatQuantity, formatUnitPrice } from "../../lib/format";
import { Corrections, Payments } from "./BillingHistory";
import { ChangePlan } from "./ChangePlan";
import { InvoiceLines } from "./InvoiceLines";
import { InvoicePreview } from "./InvoicePreview";
import { atLeast } from "../../lib/session";
import { useSubscription } from "../../lib/tenant";
import { useLocale, useSession } from "../../lib/useSession";

type Invoice = Schemas["InvoicePublic"];

function Invoice({ invoice, locale }: { invoice: Invoice; locale: string }) {
  const [open, setOpen] = useState(false);
  const id = `lines-${invoice.number}`;
  return (
    <>
      <tr>
        <td>
          <button type="button" className="link" aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
            {open ? "▾" : "▸"} {invoice.number}
          </button>
        </td>
        {/* The period's end is exclusive (the next month's first instant): show its last day. */}
        <td>{formatDate(invoice.period_start, "UTC", locale)} – {formatDate(new Date(new Date(invoice.period_end).getTime() - 1).toISOString(), "UTC", locale)}</td>
        <td>{invoice.plan_slug}</td>
        <td><span className={`badge badge-${invoice.status}`}>{invoice.status}</span></td>
        <td className="num" data-testid={`invoice-total-${invoice.number}`}>{formatMinor(invoice.total_minor, invoice.currency, locale)}</td>
      </tr>
      {open && (
        <tr id={id} className="expanded">
          <td colSpan={5}>
            <InvoiceLines number={invoice.number} lines={invoice.lines} currency={invoice.currency} locale={locale} drill />
          </td>
        </tr>
      )}
    </>
  );
}

function CancelControls() {
  const queries = useQueryClient();
  const [confirming, setConfirming] = useState<null | boolean>(null);
  const cancel = useMutation({
    mutationFn: (atPeriodEnd: boolean) => api("/v1/subscriptions/current/cancel", {
      method: "POST", body: { at_period_end: atPeriodEnd } }),
    onSuccess: () => { setConfirming(null); return queries.invalidateQueries({ queryKey: ["subscription"] }); },
  });
  if (confirming !== null) {
    return (
      <div className="confirm" role="alertdialog" aria-label="Confirm cancellation">
        <p>{confirming ? "Cancel at the end of this period? Usage until then is still billed."
          : "Cancel now? The period so far is invoiced and metering stops billing."}</p>
        <button type="button" className="danger" onClick={() => cancel.mutate(confirming)} disabled={cancel.isPending}>Yes, cancel</button>
        <button type="button" className="secondary" onClick={() => setConfirming(null)}>Keep the subscription</button>
        {cancel.error && <ErrorState error={cancel.error} />}
      </div>
    );
  }
  return (
    <div className="actions">
      <button type="button" className="secondary" onClick={() => setConfirming(true)}>Cancel at period end</button>
      <button type="button" className="secondary danger-text" onClick={() => setConfirming(false)}>Cancel now</button>
    </div>
  );
}

export default function Billing() {
  const session = useSession();
  const locale = useLocale();
  const subscription = useSubscription();
  const invoices = useQuery({ queryKey: ["invoices"], queryFn: () => api<Invoice[]>("/v1/invoices") });
  return (
    <>
      <PageHeader title="Billing" />
      <div className="grid">
        <Card title="Subscription" className="span-3">
          <QueryView query={subscription} what="the subscription">
            {(current) => current === null ? <Empty title="No subscription yet" /> : (
              <>
                <dl className="facts">
                  <dt>Plan</dt><dd>{current.plan.name} <span className="muted">({current.plan.slug})</span></dd>
                  <dt>Flat fee</dt><dd>{formatMoney(current.plan.flat_fee, current.plan.currency, locale)} per {current.plan.interval}</dd>
                  <dt>Status</dt><dd><span className={`badge badge-${current.status}`}>{current.status}</span>
                    {current.cancel_at_period_end && <span className="badge badge-warn">ends at period end</span>}</dd>
                </dl>
                <h3>Charges</h3>
                <ul className="list">
                  {(current.plan.charges ?? []).map((charge) => (
                    <li key={charge.meter_slug}><strong>{charge.meter_slug}</strong>: {charge.model}
                      {"unit_price" in charge && <> at {formatUnitPrice(charge.unit_price, current.plan.currency, locale)} per unit</>}
                      {Number(charge.included_usage) > 0 && <>, {formatQuantity(charge.included_usage, locale)} included</>}
                    </li>
                  ))}
                </ul>
                {atLeast(session, "admin") && current.status !== "canceled" && !current.cancel_at_period_end && <CancelControls />}
                {atLeast(session, "admin") && current.status !== "canceled" && <ChangePlan current={current} locale={locale} />}
              </>
            )}
          </QueryView>
        </Card>
        <Card title="Invoices" className="span-3">
          <QueryView query={invoices} what="invoices">
            {(list) => list.length === 0 ? <Empty title="No invoices yet">The first invoice is drawn up after your first period closes.</Empty> : (
              <div className="table-wrap">
                <table data-testid="invoices">
                  <thead><tr><th scope="col">Number</th><th scope="col">Period (UTC)</th><th scope="col">Plan</th>
                    <th scope="col">Status</th><th scope="col" className="num">Total</th></tr></thead>
                  <tbody>{list.map((invoice) => <Invoice key={invoice.number} invoice={invoice} locale={locale} />)}</tbody>
                </table>
              </div>
            )}
          </QueryView>
        </Card>
        <InvoicePreview locale={locale} className="span-3" />
        <Payments locale={locale} />
        <Corrections locale={locale} currency={subscription.data?.plan.currency ?? "USD"} />
      </div>
    </>
  );
}
