// Invoice runs for finance (billing.run): start a closed month's run or a dry run, watch each
// run's per-tenant outcomes arrive, and open any run in the Prefect UI, where it is a flow run.
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Card, PageHeader } from "../../components/Card";
import { Empty, ErrorState, QueryView } from "../../components/States";
import { ApiError } from "../../lib/api";
import { formatInstant, formatMoney } from "../../lib/format";
import { useLocale } from "../../lib/useSession";
import { isFinal, lastClosedMonth, startInvoiceRun, useInvoiceRuns, type InvoiceRun } from "./api";

/** Why a run was refused, in words: an open month is the one refusal finance meets in practice. */
function explain(error: unknown): string | null {
  if (error instanceof ApiError && error.code === "period_not_closed") {
    return "That month has not closed yet (months close at midnight UTC on the 1st). A run invoices a closed " +
      "month: pick an earlier one, or try a dry run once it closes.";
  }
  return null;
}

export default function InvoiceRuns() {
  const locale = useLocale();
  const queries = useQueryClient();
  const runs = useInvoiceRuns();
  const [period, setPeriod] = useState(() => lastClosedMonth(new Date()));
  const [dryRun, setDryRun] = useState(true);
  const start = useMutation({
    mutationFn: () => startInvoiceRun({ period, dry_run: dryRun }),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["operator", "invoice-runs"] }),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    start.mutate();
  }

  return (
    <>
      <PageHeader title="Invoice runs" />
      <div className="grid">
        <Card title="Start a run">
          <form className="form" onSubmit={submit}>
            <label>Period (a closed month, UTC)
              <input type="month" required value={period} onChange={(e) => setPeriod(e.target.value)} /></label>
            <label className="check"><input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} />
              Dry run: rate and show every invoice, store nothing, charge nobody</label>
            <button type="submit" className={dryRun ? "" : "danger"} disabled={start.isPending}>
              {start.isPending ? "Starting…" : dryRun ? "Start dry run" : "Start invoice run"}</button>
          </form>
          {start.error && (explain(start.error)
            ? <div className="state state-error" role="alert" data-testid="run-refused">
                <strong>Not started.</strong> {explain(start.error)}</div>
            : <ErrorState error={start.error} />)}
          {start.data && <div className="notice" role="status">Started {start.data.name}
            {start.data.dry_run ? " (dry run)" : ""}: its outcomes appear below as it reports.</div>}
        </Card>
        <Card title="Runs" className="span-2" actions={runs.data?.[0] &&
          <a href={runs.data[0].deployment_url} target="_blank" rel="noreferrer">Deployment in Prefect</a>}>
          <QueryView query={runs} what="invoice runs">
            {(list) => list.length === 0 ? <Empty title="No invoice runs yet">Start one for a closed month.</Empty> : (
              <ul className="runs" data-testid="invoice-runs">{list.map((run, index) => (
                <RunItem key={run.id} run={run} locale={locale} open={index === 0} />
              ))}</ul>
            )}
          </QueryView>
        </Card>
      </div>
    </>
  );
}

/** Outcomes per status, e.g. "3 paid · 1 failed": an older run's line, its table folded away. */
function counts(outcomes: { status: string }[]): string {
  const by = outcomes.reduce<Record<string, number>>((acc, o) => ({ ...acc, [o.status]: (acc[o.status] ?? 0) + 1 }), {});
  return Object.entries(by).map(([status, n]) => `${n} ${status}`).join(" · ");
}

function RunItem({ run, locale, open }: { run: InvoiceRun; locale: string; open: boolean }) {
  return (
    <li className="run" data-testid={`run-${run.id}`}>
      <div className="run-head">
        <strong>{run.period ?? "last closed month"}</strong>
        {run.dry_run && <span className="badge">dry run</span>}
        <span className={`badge badge-state-${run.state_type.toLowerCase()}`} data-testid="run-state">{run.state}</span>
        <span className="muted small">{run.name}{run.created_at ? ` · ${formatInstant(run.created_at, "UTC", locale)} UTC` : ""}</span>
        <a href={run.ui_url} target="_blank" rel="noreferrer">Open in Prefect</a>
      </div>
      {run.outcomes === null || run.outcomes === undefined
        ? <p className="muted small">{isFinal(run) ? "This run reported no outcomes." : "Running: outcomes appear when it reports."}</p>
        : run.outcomes.length === 0 ? <p className="muted small">No tenant was subscribed in this period.</p> : (
          <details open={open}>
          <summary className="small">{run.outcomes.length} tenants: {counts(run.outcomes)}</summary>
          <div className="table-wrap">
            <table className="compact" data-testid="run-outcomes">
              <thead><tr><th scope="col">Tenant</th><th scope="col">Invoice</th><th scope="col">Status</th>
                <th scope="col" className="num">Total</th></tr></thead>
              <tbody>{run.outcomes.map((row) => (
                <tr key={row.tenant_id} data-testid={`outcome-${row.tenant}`}>
                  <td>{row.tenant}</td><td>{row.invoice_number || "–"}</td>
                  <td>{row.status}{row.failure_reason && <div className="danger-text small">{row.failure_reason}</div>}</td>
                  <td className="num" data-testid="total">{row.total ? formatMoney(row.total, row.currency, locale) : "–"}</td>
                </tr>
              ))}</tbody>
            </table>
          </div>
          </details>
        )}
    </li>
  );
}
