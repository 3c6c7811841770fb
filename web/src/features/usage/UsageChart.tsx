import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatWindowStart, type WindowSize } from "../../lib/format";
import { PALETTE } from "../../components/palette";
import type { UsageRow } from "./api";
import { byMeter, pivot } from "./series";

interface ChartProps { rows: UsageRow[]; window: WindowSize; timeZone: string; locale: string }

/** One chart per meter: a count of calls and a sum of tokens do not share a scale. */
export function UsageCharts(props: ChartProps) {
  const meters = byMeter(props.rows);
  return (
    <div className={meters.length > 1 ? "two" : undefined}>
      {meters.map(([meter, rows]) => <UsageChart key={meter} {...props} rows={rows} meter={meter} />)}
    </div>
  );
}

function UsageChart({ rows, window, timeZone, locale, meter }: ChartProps & { meter: string }) {
  const { points, series, hidden } = pivot(rows);
  const compact = new Intl.NumberFormat(locale, { notation: "compact" });
  return (
    <figure className="chart" aria-label={`${meter} per window (the table below has the exact numbers)`}>
      <figcaption className="chart-title">{meter}</figcaption>
      <ResponsiveContainer width="100%" height={260}>
        <BarChart data={points} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="window" tickFormatter={(v: string) => formatWindowStart(v, window, timeZone, locale)} minTickGap={24} />
          <YAxis tickFormatter={(v: number) => compact.format(v)} width={56} />
          <Tooltip labelFormatter={(v) => formatWindowStart(String(v), window, timeZone, locale)} />
          {series.length > 1 && <Legend />}
          {series.map((key, index) => (
            <Bar key={key} dataKey={key} stackId="usage" fill={PALETTE[index % PALETTE.length]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
      {hidden > 0 && <figcaption className="muted small">{hidden} smaller series are in the table only.</figcaption>}
    </figure>
  );
}
