import { useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { Card, PageHeader } from "../../components/Card";
import { Freshness } from "../../components/Freshness";
import { Empty, ErrorState, Loading } from "../../components/States";
import { formatCount, formatInstant, formatQuantity, formatWindowStart } from "../../lib/format";
import { atLeast } from "../../lib/session";
import { useMeters } from "../../lib/tenant";
import { browserTimeZone, resolveRange } from "../../lib/timeRange";
import { useLocale, useSession } from "../../lib/useSession";
import { apiQuery, downloadCsv, useUsage } from "./api";
import { Controls } from "./Controls";
import { readState, writeState, type UsageQueryState } from "./queryState";
import { UsageCharts } from "./UsageChart";

export default function UsageExplorer() {
  const [params, setParams] = useSearchParams();
  const session = useSession();
  const locale = useLocale();
  const meters = useMeters();
  const state = useMemo(() => readState(params, browserTimeZone()), [params]);
  // "Last 7 days" is resolved once per query change, so the table and chart share one answer.
  const [asOf, setAsOf] = useState(() => new Date());
  // Ranges that end now move on with the clock, or an open page would stop counting at the
  // minute it was set up (its `to` frozen). The key only changes when that minute does.
  const endsNow = state.range !== "last-month" && state.range !== "custom";
  useEffect(() => {
    if (!endsNow) return undefined;
    const timer = setInterval(() => setAsOf(new Date()), 10_000);
    return () => clearInterval(timer);
  }, [endsNow]);
  const query = useMemo(() => apiQuery(state, asOf), [state, asOf]);
  const usage = useUsage(query);
  const [exportError, setExportError] = useState<unknown>(null);
  const range = resolveRange(state.range, state.tz, asOf, state.fromDate, state.toDate);

  function change(next: UsageQueryState) {
    setAsOf(new Date());
    setParams(writeState(next));
  }

  return (
    <>
      <PageHeader title="Usage explorer">
        {usage.data && <Freshness watermark={usage.data.watermark} timeZone={state.tz} locale={locale} />}
      </PageHeader>
      <Controls state={state} meters={meters.data ?? []} onChange={change} />
      <p className="muted range-note" data-testid="range">
        {formatInstant(range.from.toISOString(), state.tz, locale)} – {formatInstant(range.to.toISOString(), state.tz, locale)} ({state.tz})
      </p>
      {usage.isPending ? <Loading what="usage" /> : usage.error || !usage.data ? (
        <ErrorState error={usage.error} retry={() => usage.refetch()} />
      ) : (
        <>
          <div className="totals" aria-label="Totals per meter">
            {usage.data.totals.map((total) => (
              <div key={total.meter} className="stat" data-testid={`total-${total.meter}`}>
                <div className="stat-label">{total.meter} <span className="muted">({total.aggregation})</span></div>
                <div className="stat-value" data-testid={`total-quantity-${total.meter}`}>{formatQuantity(total.quantity, locale)}</div>
                <div className="muted small">{formatCount(total.event_count, locale)} events</div>
              </div>
            ))}
          </div>
          <Card title="Per window" actions={atLeast(session, "member") && (
            <button type="button" className="secondary small" onClick={() => {
              setExportError(null);
              downloadCsv(query).catch(setExportError);
            }}>Export CSV</button>
          )}>
            {exportError !== null && <ErrorState error={exportError} />}
            {usage.data.rows.length === 0 ? (
              <Empty title="No usage in this range">Events pushed to ingest appear here within seconds.</Empty>
            ) : (
              <>
                <UsageCharts rows={usage.data.rows} window={state.window} timeZone={state.tz} locale={locale} />
                {usage.data.truncated && <p className="notice">Showing the first {usage.data.rows.length} rows; the CSV export has them all.</p>}
                <div className="table-wrap">
                  <table data-testid="usage-table">
                    <thead><tr>
                      <th scope="col">Window ({state.tz})</th><th scope="col">Meter</th>
                      {state.groupBy.map((g) => <th scope="col" key={g}>{g}</th>)}
                      {state.bySubject && <th scope="col">Subject</th>}
                      <th scope="col" className="num">Quantity</th><th scope="col" className="num">Events</th>
                    </tr></thead>
                    <tbody>
                      {usage.data.rows.map((row, index) => (
                        <tr key={index}>
                          <td>{formatWindowStart(row.window_start, state.window, state.tz, locale)}</td>
                          <td>{row.meter}</td>
                          {state.groupBy.map((g) => <td key={g}>{row.group[g] ?? "–"}</td>)}
                          {state.bySubject && <td>{row.subject ?? "–"}</td>}
                          <td className="num" data-testid="row-quantity">{formatQuantity(row.quantity, locale)}</td>
                          <td className="num">{formatCount(row.event_count, locale)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </>
            )}
          </Card>
        </>
      )}
    </>
  );
}
