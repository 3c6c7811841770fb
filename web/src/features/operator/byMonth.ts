// Report rows to chart points. recharts draws one category per data element, so rows of one
// month in two currencies (or two plans) must become one point, each under its own series key.
export type MonthPoint = Record<string, string | number | null>;

export function byMonth<R extends { month: string }>(rows: R[], values: (row: R) => Record<string, number | null>,
): MonthPoint[] {
  const points = new Map<string, MonthPoint>();
  for (const row of rows) {
    const point = points.get(row.month) ?? { month: row.month };
    Object.assign(point, values(row));
    points.set(row.month, point);
  }
  return [...points.values()].sort((a, b) => String(a.month).localeCompare(String(b.month)));
}

/** Series keys in the order rows first name them. */
export function seriesOf<R>(rows: R[], keys: (row: R) => string[]): string[] {
  return [...new Set(rows.flatMap(keys))];
}
