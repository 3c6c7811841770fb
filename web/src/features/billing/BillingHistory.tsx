// Payments as Stripe reported them, and late usage: corrections still pending (billed on the
// next invoice) and those already applied, with the invoice that billed them.
import { useQuery } from "@tanstack/react-query";
import { Card } from "../../components/Card";
import { Empty, QueryView } from "../../components/States";
import { api, type Schemas } from "../../lib/api";
import { formatCount, formatInstant, formatMinor, formatQuantity } from "../../lib/format";

export function Payments({ locale }: { locale: string }) {
  const payments = useQuery({ queryKey: ["payments"], queryFn: () => api<Schemas["PaymentPage"]>("/v1/payments", { query: { limit: 1000 } }) });
  return (
    <Card title="Payments" className="span-3">
      <QueryView query={payments} what="payments">
        {(page) => page.payments.length === 0 ? <Empty title="No payments yet">Payments appear once an invoice is charged.</Empty> : (
          <div className="table-wrap">
            <table data-testid="payments">
              <thead><tr><th scope="col">When (UTC)</th><th scope="col">Invoice</th><th scope="col">Status</th>
                <th scope="col" className="num">Amount</th></tr></thead>
              <tbody>{page.payments.map((p) => (
                <tr key={p.id}><td>{formatInstant(p.created_at, "UTC", locale)}</td><td>{p.invoice_number}</td>
                  <td><span className={`badge badge-${p.status === "succeeded" ? "paid" : p.status === "failed" ? "void" : "open"}`}>{p.status}</span></td>
                  <td className="num" data-testid="payment-amount">{formatMinor(p.amount_minor, p.currency, locale)}</td></tr>
              ))}</tbody>
            </table>
          </div>
        )}
      </QueryView>
    </Card>
  );
}

/** Late usage for periods already invoiced: billed on the next invoice as corrections. */
export function Corrections({ locale, currency }: { locale: string; currency: string }) {
  const corrections = useQuery({
    queryKey: ["corrections"],
    queryFn: () => api<Schemas["CorrectionPage"]>("/v1/corrections", { query: { state: "all", limit: 1000 } }),
  });
  return (
    <Card title="Late usage corrections" className="span-3">
      <QueryView query={corrections} what="corrections">
        {(page) => page.corrections.length === 0 ? <Empty title="No late usage">Events that arrive after their period was invoiced are listed here and billed on the next invoice.</Empty> : (
          <div className="table-wrap">
            <table data-testid="corrections">
              <thead><tr><th scope="col">Period's invoice</th><th scope="col">Meter</th><th scope="col">Window (UTC)</th>
                <th scope="col">Kind</th><th scope="col" className="num">Quantity</th><th scope="col" className="num">Events</th>
                <th scope="col">State</th><th scope="col" className="num">Billed</th></tr></thead>
              <tbody>{page.corrections.map((c) => (
                <tr key={c.id} data-testid={`correction-${c.id}`}>
                  <td>{c.invoice_number}</td><td>{c.meter_slug}</td><td>{formatInstant(c.window_start, "UTC", locale)}</td>
                  <td>{c.kind === "delta" ? "late units" : "restated"}</td>
                  <td className="num">{formatQuantity(c.quantity, locale)}</td><td className="num">{formatCount(c.event_count, locale)}</td>
                  <td>{c.state === "applied"
                    ? <span className="badge badge-paid">applied on {c.applied_invoice_number}</span>
                    : <span className="badge badge-warn">pending: next invoice</span>}</td>
                  <td className="num">{c.amount_minor === null ? "–" : formatMinor(c.amount_minor, currency, locale)}</td>
                </tr>
              ))}</tbody>
            </table>
          </div>
        )}
      </QueryView>
    </Card>
  );
}
