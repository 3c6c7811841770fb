// Pipeline health for SREs (pipeline.read): how much the stream counted, month by month.
import { Card, PageHeader } from "../../components/Card";
import { QueryView } from "../../components/States";
import { formatCount } from "../../lib/format";
import { useLocale } from "../../lib/useSession";
import { firstMonth, useReport } from "./api";
import { MonthBars } from "./charts";

export default function Pipeline() {
  const locale = useLocale();
  const months = 6;
  const usage = useReport("usage", firstMonth(new Date(), months), months);
  const compact = (v: number) => new Intl.NumberFormat(locale, { notation: "compact" }).format(v);
  return (
    <>
      <PageHeader title="Pipeline health" />
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
