import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Card, PageHeader } from "../../components/Card";
import { Empty, ErrorState, QueryView } from "../../components/States";
import { api, type Schemas } from "../../lib/api";
import { formatDate, formatMinor, formatMoney, formatQuantity, formatUnitPrice } from "../../lib/format";
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
            <table className="inner">
              <thead><tr><th scope="col">Line</th><th scope="col" className="num">Quantity</th>
                <th scope="col" className="num">Unit price</th><th scope="col" className="num">Amount</th></tr></thead>
              <tbody>
                {invoice.lines.map((line) => (
                  <tr key={line.position}>
                    <td>{line.description}{line.tier && <span className="muted"> ({line.tier})</span>}</td>
                    <td className="num">{formatQuantity(line.quantity, locale)}</td>
                    <td className="num">{line.unit_price ? formatUnitPrice(line.unit_price, invoice.currency, locale) : "–"}</td>
                    <td className="num" data-testid="line-amount">{formatMinor(line.amount_minor, invoice.currency, locale)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
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

/** Late usage for periods already invoiced: billed on the next invoice as corrections. */
function Corrections({ locale }: { locale: string }) {
  const corrections = useQuery({
    queryKey: ["corrections"], queryFn: () => api<Schemas["CorrectionPublic"][]>("/v1/stream/corrections"),
  });
  return (
    <Card title="Late usage corrections" className="span-3">
      <QueryView query={corrections} what="corrections">
        {(list) => list.length === 0 ? <Empty title="No late usage">Events that arrive after their period was invoiced are listed here and billed on the next invoice.</Empty> : (
          <div className="table-wrap">
            <table data-testid="corrections">
              <thead><tr><th scope="col">Invoice</th><th scope="col">Meter</th><th scope="col">Window (UTC)</th>
                <th scope="col">Kind</th><th scope="col" className="num">Quantity</th><th scope="col" className="num">Events</th></tr></thead>
              <tbody>{list.map((c) => (
                <tr key={c.invoice_number + c.meter_slug + c.window_start}>
                  <td>{c.invoice_number}</td><td>{c.meter_slug}</td><td>{formatDate(c.window_start, "UTC", locale)}</td>
                  <td>{c.kind === "delta" ? "late units" : "restated"}</td>
                  <td className="num">{formatQuantity(c.quantity, locale)}</td><td className="num">{c.event_count}</td>
                </tr>
              ))}</tbody>
            </table>
          </div>
        )}
      </QueryView>
    </Card>
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
        <Corrections locale={locale} />
      </div>
    </>
  );
}
