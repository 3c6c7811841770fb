// Pipeline health for SREs (pipeline.read): ingest rate, consumer lag per partition, dead
// letters and the last flow runs (GET /v1/operator/analytics/pipeline), refreshed every few
// seconds; and how much the stream counted month by month.
import { useQuery } from "@tanstack/react-query";
import { Card, PageHeader } from "../../components/Card";
import { Empty, QueryView } from "../../components/States";
import { formatCount, formatInstant } from "../../lib/format";
import { useLocale } from "../../lib/useSession";
import { DEFAULT_MONTHS, firstMonth, PIPELINE_REFRESH_MS, pipelineQuery, useReport, type Health } from "./api";
import { MonthBars } from "./charts";
import { minuteSeries } from "./minutes";

export type { Health };

function Unavailable({ health, section }: { health: Health; section: string }) {
  const why = health.unavailable[section];
  return why ? <div className="state state-error" role="alert"><strong>Unavailable.</strong> {why}</div> : null;
}

export default function Pipeline() {
  const locale = useLocale();
  const months = DEFAULT_MONTHS;
  const usage = useReport("usage", firstMonth(new Date(), months), months);
  const health = useQuery({ ...pipelineQuery, refetchInterval: PIPELINE_REFRESH_MS });
  const compact = (v: number) => new Intl.NumberFormat(locale, { notation: "compact" }).format(v);
  const rate = (events: number, minutes: number) =>
    new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(events / (minutes * 60));

  return (
    <>
      <PageHeader title="Pipeline health">
        {health.data && <span className="muted small" data-testid="as-of" data-as-of={health.data.as_of}>as of {formatInstant(health.data.as_of, "UTC", locale, true)} UTC</span>}
      </PageHeader>
      <QueryView query={health} what="pipeline health">
        {(h) => {
          const minutes = minuteSeries(h);
          const total = minutes.reduce((sum, m) => sum + m.events, 0);
          return (
            <div className="grid">
              <Card title="Ingest rate" className="span-2">
                <Unavailable health={h} section="ingest" />
                {h.ingest_per_minute && (
                  <>
                    <div className="totals">
                      <div className="stat"><div className="stat-label muted">Events, last {h.window_minutes} min</div>
                        <div className="stat-value" data-testid="ingest-events">{formatCount(total, locale)}</div></div>
                      <div className="stat"><div className="stat-label muted">Per second (average)</div>
                        <div className="stat-value" data-testid="ingest-rate">{rate(total, h.window_minutes)}</div></div>
                    </div>
                    <MonthBars label="Events accepted per minute (UTC)" x="minute" format={compact} series={["events"]}
                               stacked={false} data={minutes} />
                    <p className="muted small">By the minute ingest accepted them, once the stream stored them:
                      events still in the lag below are added as it catches up.</p>
                  </>
                )}
              </Card>
              <Card title="Dead letters">
                <Unavailable health={h} section="dead_letters" />
                {h.dead_letters_last_hour !== null && h.dead_letters_last_hour !== undefined && (
                  <dl className="facts">
                    <dt>Last hour</dt><dd data-testid="dead-letters-hour">{formatCount(h.dead_letters_last_hour, locale)}</dd>
                    <dt>Last day</dt><dd data-testid="dead-letters-day">{formatCount(h.dead_letters_last_day ?? 0, locale)}</dd>
                  </dl>
                )}
              </Card>
              <Card title="Consumer lag per partition" className="span-3">
                <Unavailable health={h} section="lag" />
                {h.lag && (
                  <div className="table-wrap">
                    <table className="compact" data-testid="lag-table">
                      <thead><tr><th scope="col">Partition</th><th scope="col" className="num">End offset</th>
                        <th scope="col" className="num">Applied up to</th><th scope="col" className="num">Lag (records)</th>
                        <th scope="col" className="num">Lag (seconds)</th></tr></thead>
                      <tbody>{h.lag.map((p) => (
                        <tr key={p.partition} data-testid={`lag-${p.partition}`}>
                          <td>{p.partition}</td><td className="num">{formatCount(p.end_offset, locale)}</td>
                          <td className="num">{formatCount(p.committed_offset, locale)}</td>
                          <td className="num" data-testid="records">{formatCount(p.lag_records, locale)}</td>
                          <td className="num" data-testid="seconds">{p.lag_seconds === null || p.lag_seconds === undefined ? "unknown"
                            : new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(p.lag_seconds)}</td>
                        </tr>
                      ))}</tbody>
                    </table>
                  </div>
                )}
              </Card>
              <Card title="Last flow runs" className="span-3">
                <Unavailable health={h} section="flow_runs" />
                {h.flow_runs && (h.flow_runs.length === 0 ? <Empty title="No flow has run yet" /> : (
                  <div className="table-wrap">
                    <table className="compact" data-testid="flow-runs">
                      <thead><tr><th scope="col">Flow</th><th scope="col">Run</th><th scope="col">State</th>
                        <th scope="col">Started (UTC)</th></tr></thead>
                      <tbody>{h.flow_runs.map((run) => (
                        <tr key={run.ui_url}><td>{run.flow}</td>
                          <td><a href={run.ui_url} target="_blank" rel="noreferrer">{run.name}</a></td>
                          <td><span className={`badge badge-state-${run.state_type.toLowerCase()}`}>{run.state}</span></td>
                          <td>{run.started_at ? formatInstant(run.started_at, "UTC", locale, true) : "not started"}</td></tr>
                      ))}</tbody>
                    </table>
                  </div>
                ))}
              </Card>
            </div>
          );
        }}
      </QueryView>
      <Card title="Events counted per month">
        <QueryView query={usage} what="pipeline volume">
          {(report) => {
            const perMonth = Object.values(report.rows.reduce<Record<string, { month: string; events: number }>>((acc, r) => {
              acc[r.month] ??= { month: r.month, events: 0 };
              acc[r.month].events += r.events;
              return acc;
            }, {}));
            return (
              <>
                <MonthBars label="Events counted per month" format={compact} series={["events"]} stacked={false} data={perMonth} />
                <table className="compact" data-testid="pipeline-table"><tbody>{perMonth.map((r) => (
                  <tr key={r.month}><td>{r.month}</td><td className="num">{formatCount(r.events, locale)} events counted</td></tr>
                ))}</tbody></table>
              </>
            );
          }}
        </QueryView>
      </Card>
    </>
  );
}
