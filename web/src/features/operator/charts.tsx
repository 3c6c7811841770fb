import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { PALETTE } from "../../components/palette";

type Point = Record<string, string | number | null>;

export function MonthLines({ data, series, label, format, floor }: {
  data: Point[]; series: string[]; label: string; format: (v: number) => string;
  /** The least top of the axis: a rate that is 0 all along is drawn at the bottom of a small scale. */
  floor?: number;
}) {
  return (
    <figure className="chart" aria-label={`${label} (the table has the exact numbers)`}>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="month" />
          <YAxis tickFormatter={format} width={72}
                 domain={floor === undefined ? undefined : [0, (max: number) => Math.max(max, floor)]} />
          <Tooltip formatter={(v) => format(Number(v))} />
          {series.length > 1 && <Legend />}
          {series.map((key, i) => <Line key={key} dataKey={key} stroke={PALETTE[i % PALETTE.length]} strokeWidth={2}
                                        isAnimationActive={false} connectNulls />)}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

export function MonthBars({ data, series, label, format, stacked = true, x = "month", stackOf }: {
  data: Point[]; series: string[]; label: string; format: (v: number) => string; stacked?: boolean; x?: string;
  /** Which stack a series joins (default: one stack for all). */
  stackOf?: (series: string) => string;
}) {
  return (
    <figure className="chart" aria-label={`${label} (the table has the exact numbers)`}>
      <ResponsiveContainer width="100%" height={220}>
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 8 }} stackOffset="sign">
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey={x} />
          <YAxis tickFormatter={format} width={72} />
          <Tooltip formatter={(v) => format(Number(v))} />
          <Legend />
          {series.map((key, i) => <Bar key={key} dataKey={key} fill={PALETTE[i % PALETTE.length]}
                                       stackId={stacked ? (stackOf?.(key) ?? "s") : undefined} isAnimationActive={false} />)}
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
