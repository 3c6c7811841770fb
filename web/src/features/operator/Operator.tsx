// The operator console: the platform's revenue and usage across every tenant (tenants, invoice
// runs and the pipeline have their own sections, offered by role).
import { useState } from "react";
import { Card, PageHeader } from "../../components/Card";
import { Empty, QueryView } from "../../components/States";
import { chartValue, formatCount, formatMoney, formatPercent } from "../../lib/format";
import { useLocale } from "../../lib/useSession";
import { DEFAULT_MONTHS, firstMonth, useReport, type Reports } from "./api";
import { byMonth, seriesOf, type MonthPoint } from "./byMonth";
import { MonthBars, MonthLines } from "./charts";

const MOVEMENTS = ["new", "expansion", "contraction", "churn", "reactivation"] as const;
type Movement = (typeof MOVEMENTS)[number];

/** A movement as the bars draw it: churn and contraction below the axis. */
function signed(movement: Movement, amount: string): number {
  return movement === "churn" || movement === "contraction" ? -chartValue(amount) : chartValue(amount);
}

type MrrRow = Reports["mrr"]["rows"][number];

/** The movement bars of the currencies that moved at all (a currency whose plans no one pays
 * for adds only a row of zeros), named by movement alone when that is one currency. */
function movementBars(rows: MrrRow[]): { series: string[]; data: MonthPoint[] } {
  const moved = new Set(rows.filter((r) => [r.mrr, ...MOVEMENTS.map((m) => r[m])].some((v) => chartValue(v) !== 0))
    .map((r) => r.currency));
  const shown = rows.filter((r) => moved.has(r.currency));
  const key = (m: Movement, currency: string) => (moved.size > 1 ? `${m} ${currency}` : m);
  return {
    series: moved.size > 1 ? seriesOf(shown, (r) => MOVEMENTS.map((m) => key(m, r.currency))) : [...MOVEMENTS],
    data: byMonth(shown, (r) => Object.fromEntries(MOVEMENTS.map((m) => [key(m, r.currency), signed(m, r[m])]))),
  };
}

export default function Operator() {
  const locale = useLocale();
  const [months, setMonths] = useState(DEFAULT_MONTHS);
  const from = firstMonth(new Date(), months);
  const mrr = useReport("mrr", from, months);
  const subscriptions = useReport("subscriptions", from, months);
  const churn = useReport("churn", from, months);
  const arpu = useReport("arpu", from, months);
  const revenue = useReport("revenue", from, months);
  const topRevenue = useReport("topRevenue", from, months);
  const topUsage = useReport("topUsage", from, months);
  const compact = (v: number) => new Intl.NumberFormat(locale, { notation: "compact" }).format(v);

  return (
    <>
      <PageHeader title="Operator console">
        <label className="inline">Months
          <select value={months} onChange={(e) => setMonths(Number(e.target.value))}>
            {[3, 6, 12, 24].map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
      </PageHeader>
      <div className="grid">
        <Card title="MRR and its movements" className="span-3">
          <QueryView query={mrr} what="MRR">
            {(report) => report.rows.length === 0 ? <Empty title="No revenue yet" /> : (
              <>
                <div className="two">
                  <MonthLines label="MRR" data={byMonth(report.rows, (r) => ({ [`MRR ${r.currency}`]: chartValue(r.mrr) }))}
                              series={seriesOf(report.rows, (r) => [`MRR ${r.currency}`])} format={compact} />
                  {/* One stack per currency: amounts in two currencies are never added up. */}
                  <MonthBars label="MRR movements" format={compact} stackOf={(key) => key.split(" ")[1] ?? "s"}
                             {...movementBars(report.rows)} />
                </div>
                <div className="table-wrap">
                  <table data-testid="mrr-table">
                    <thead><tr><th scope="col">Month</th><th scope="col" className="num">MRR</th>
                      {MOVEMENTS.map((m) => <th key={m} scope="col" className="num">{m}</th>)}
                      <th scope="col" className="num">Paying tenants</th></tr></thead>
                    <tbody>{report.rows.map((r) => (
                      <tr key={r.month + r.currency}>
                        <td>{r.month}</td><td className="num" data-testid={`mrr-${r.month}-${r.currency}`}>{formatMoney(r.mrr, r.currency, locale)}</td>
                        {MOVEMENTS.map((m) => <td key={m} className="num">{formatMoney(r[m], r.currency, locale)}</td>)}
                        <td className="num">{formatCount(r.paying_tenants, locale)}</td>
                      </tr>
                    ))}</tbody>
                  </table>
                </div>
              </>
            )}
          </QueryView>
        </Card>
        <Card title="Active subscriptions">
          <QueryView query={subscriptions} what="subscriptions">
            {(report) => report.rows.every((r) => r.active_at_end === 0 && r.started === 0 && r.canceled === 0) ? (
              <Empty title="No subscriptions yet" />
            ) : (
              <>
                <MonthLines label="Active subscriptions" format={compact} series={["active"]}
                            data={report.rows.map((r) => ({ month: r.month, active: r.active_at_end }))} />
                <table className="compact" data-testid="subscriptions-table"><tbody>{report.rows.map((r) => (
                  <tr key={r.month}><td>{r.month}</td><td className="num">{formatCount(r.active_at_end, locale)} active</td>
                    <td className="num">+{formatCount(r.started, locale)} / −{formatCount(r.canceled, locale)}</td></tr>
                ))}</tbody></table>
              </>
            )}
          </QueryView>
        </Card>
        <Card title="Churn">
          <QueryView query={churn} what="churn">
            {/* A month's rate needs subscriptions active at its start; without any, an empty chart says nothing. */}
            {(report) => report.rows.every((r) => r.rate === null) ? (
              <Empty title="No churn to measure yet">A month's churn rate needs subscriptions active at its start.</Empty>
            ) : (
              <>
                <MonthLines label="Churn rate" series={["churn"]} floor={0.1} format={(v) => formatPercent(String(v), locale)}
                            data={report.rows.map((r) => ({ month: r.month, churn: r.rate === null ? null : chartValue(r.rate) }))} />
                <table className="compact" data-testid="churn-table"><tbody>{report.rows.map((r) => (
                  <tr key={r.month}><td>{r.month}</td><td className="num">{formatPercent(r.rate, locale)}</td>
                    <td className="num">{formatCount(r.cancellations, locale)} of {formatCount(r.active_at_start, locale)}</td></tr>
                ))}</tbody></table>
              </>
            )}
          </QueryView>
        </Card>
        <Card title="ARPU">
          <QueryView query={arpu} what="ARPU">
            {(report) => report.rows.length === 0 ? <Empty title="No paying tenants yet" /> : (
              <>
                <MonthLines label="ARPU" format={compact} series={seriesOf(report.rows, (r) => [r.currency])}
                            data={byMonth(report.rows, (r) => ({ [r.currency]: r.arpu === null ? null : chartValue(r.arpu) }))} />
                <table className="compact" data-testid="arpu-table"><tbody>{report.rows.map((r) => (
                  <tr key={r.month + r.currency}><td>{r.month}</td><td>{r.currency}</td>
                    <td className="num">{r.arpu === null ? "–" : formatMoney(r.arpu, r.currency, locale)}</td></tr>
                ))}</tbody></table>
              </>
            )}
          </QueryView>
        </Card>
        <Card title="Revenue by plan" className="span-2">
          <QueryView query={revenue} what="revenue">
            {(report) => report.rows.length === 0 ? <Empty title="No invoiced revenue in these months" /> : (
              <>
                <MonthBars label="Revenue by plan" format={compact}
                           stackOf={(plan) => report.rows.find((r) => (r.key ?? "other") === plan)?.currency ?? "s"}
                           series={seriesOf(report.rows, (r) => [r.key ?? "other"])}
                           data={byMonth(report.rows, (r) => ({ [r.key ?? "other"]: chartValue(r.amount) }))} />
                <table className="compact" data-testid="revenue-table"><tbody>{report.rows.map((r) => (
                  <tr key={r.month + r.key + r.currency}><td>{r.month}</td><td>{r.key ?? "other"}</td>
                    <td className="num">{formatMoney(r.amount, r.currency, locale)}</td></tr>
                ))}</tbody></table>
              </>
            )}
          </QueryView>
        </Card>
        <Card title="Top tenants by revenue">
          <QueryView query={topRevenue} what="top tenants">
            {(report) => report.rows.length === 0 ? <Empty title="No revenue yet" /> : (
              <ol className="ranked" data-testid="top-revenue">{report.rows.map((r) => (
                <li key={r.tenant_id + r.currency}><span>{r.tenant_slug}</span><span className="num">{formatMoney(r.amount, r.currency, locale)}</span></li>
              ))}</ol>
            )}
          </QueryView>
        </Card>
        <Card title="Top tenants by usage" className="span-3">
          <QueryView query={topUsage} what="top tenants">
            {(report) => report.rows.length === 0 ? <Empty title="No usage yet" /> : (
              <ol className="ranked" data-testid="top-usage">{report.rows.map((r) => (
                <li key={r.tenant_id}><span>{r.tenant_slug}</span><span className="num">{formatCount(r.events, locale)} events</span></li>
              ))}</ol>
            )}
          </QueryView>
        </Card>
      </div>
    </>
  );
}
