// An invoice's usage line, opened down to what it was rated from: the meter's hourly windows
// in the line's part of the period, and then the raw events in them (a page at a time).
import { useState } from "react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { Empty, QueryView } from "../../components/States";
import { api, type Schemas } from "../../lib/api";
import { formatCount, formatInstant, formatQuantity } from "../../lib/format";

type Line = Schemas["InvoiceLinePublic"];
type Windows = Schemas["LineWindowsPublic"];
type Events = Schemas["LineEventsPublic"];

function groupText(group: Record<string, unknown>): string {
  const parts = Object.entries(group).map(([name, value]) => `${name}=${String(value)}`);
  return parts.length ? parts.join(", ") : "–";
}

function useLinePages<T extends { next_cursor?: string | null }>(kind: "windows" | "events", number: string, line: number,
                                                                      limit: number, enabled: boolean) {
  return useInfiniteQuery({
    queryKey: ["invoice-line", kind, number, line], enabled,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => api<T>(`/v1/invoices/${encodeURIComponent(number)}/lines/${line}/${kind}`,
      { query: { limit, cursor: pageParam } }),
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
}

function LineEvents({ number, line, locale }: { number: string; line: number; locale: string }) {
  const pages = useLinePages<Events>("events", number, line, 100, true);
  return (
    <QueryView query={pages} what="the line's events">
      {(data) => {
        const events = data.pages.flatMap((page) => page.events);
        if (events.length === 0) return <Empty title="No events">The windows hold no raw events any more (past retention).</Empty>;
        return (
          <>
            <table className="inner" data-testid={`line-events-${line}`}>
              <caption className="muted small">Events of the line, oldest first</caption>
              <thead><tr><th scope="col">Event id</th><th scope="col">Time (UTC)</th><th scope="col">Subject</th>
                <th scope="col" className="num">Value</th></tr></thead>
              <tbody>{events.map((event) => (
                <tr key={event.id}><td><code>{event.id}</code></td><td>{formatInstant(event.time, "UTC", locale, true)}</td>
                  <td>{event.subject}</td><td className="num" data-testid="event-value">{event.value === null ? "1 (counted)" : formatQuantity(event.value, locale)}</td></tr>
              ))}</tbody>
            </table>
            <p className="muted small" data-testid={`line-events-shown-${line}`}>{formatCount(events.length, locale)} events shown</p>
            {pages.hasNextPage && <button type="button" className="secondary small" disabled={pages.isFetchingNextPage}
                                          onClick={() => pages.fetchNextPage()}>More events</button>}
          </>
        );
      }}
    </QueryView>
  );
}

export function LineWindows({ number, line, locale }: { number: string; line: Line; locale: string }) {
  const [events, setEvents] = useState(false);
  const pages = useLinePages<Windows>("windows", number, line.position, 500, true);
  return (
    <QueryView query={pages} what="the line's windows">
      {(data) => {
        const first = data.pages[0];
        const windows = data.pages.flatMap((page) => page.windows);
        return (
          <div className="drill" data-testid={`line-drill-${line.position}`}>
            <p className="small">
              <strong>{first.meter_slug}</strong>, {formatInstant(first.segment_start, "UTC", locale)} to {formatInstant(first.segment_end, "UTC", locale)} UTC:{" "}
              <span data-testid={`windows-total-${line.position}`}>{formatQuantity(first.total_quantity, locale)}</span> from{" "}
              <span data-testid={`windows-events-${line.position}`}>{formatCount(first.total_events, locale)}</span> events
              in {formatCount(windows.length, locale)}{data.pages.at(-1)?.next_cursor ? "+" : ""} hourly window{windows.length === 1 ? "" : "s"}
            </p>
            <table className="inner" data-testid={`line-windows-${line.position}`}>
              <thead><tr><th scope="col">Hour (UTC)</th><th scope="col">Group</th><th scope="col" className="num">Quantity</th>
                <th scope="col" className="num">Events</th></tr></thead>
              <tbody>{windows.map((w) => (
                <tr key={w.window_start + JSON.stringify(w.group)}><td>{formatInstant(w.window_start, "UTC", locale)}</td>
                  <td>{groupText(w.group)}</td><td className="num" data-testid="window-quantity">{formatQuantity(w.quantity, locale)}</td>
                  <td className="num" data-testid="window-events">{formatCount(w.event_count, locale)}</td></tr>
              ))}</tbody>
            </table>
            {pages.hasNextPage && <button type="button" className="secondary small" disabled={pages.isFetchingNextPage}
                                          onClick={() => pages.fetchNextPage()}>More windows</button>}
            {events ? <LineEvents number={number} line={line.position} locale={locale} />
              : <button type="button" className="secondary small" onClick={() => setEvents(true)}>Show the events</button>}
          </div>
        );
      }}
    </QueryView>
  );
}
