// Who changed what: people, roles, API keys, the subscription and the tenant's lifecycle,
// newest first, a page at a time (the API's cursor).
import { useInfiniteQuery } from "@tanstack/react-query";
import { Card } from "../../components/Card";
import { Empty, QueryView } from "../../components/States";
import { api, type Schemas } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import { browserTimeZone } from "../../lib/timeRange";

type AuditPage = Schemas["AuditPagePublic"];
type Entry = Schemas["AuditEntryPublic"];

/** The entry's details in a line: `role: viewer · email: a@b.c`. */
export function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([name, value]) => `${name}: ${typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)}`)
    .join(" · ");
}

function actor(entry: Entry): string {
  if (entry.actor_kind === "user") return entry.actor_email ?? "a removed user";
  return entry.actor_kind; // operator | system
}

export function AuditLog({ locale }: { locale: string }) {
  const zone = browserTimeZone();
  const pages = useInfiniteQuery({
    queryKey: ["audit"],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => api<AuditPage>("/v1/audit", { query: { limit: 50, cursor: pageParam } }),
    getNextPageParam: (last) => last.next_cursor,
  });
  return (
    <Card title="Audit log" className="span-3">
      <QueryView query={pages} what="the audit log">
        {(data) => {
          const entries = data.pages.flatMap((page) => page.entries);
          if (entries.length === 0) return <Empty title="Nothing recorded yet">Changes to people, keys and the subscription are listed here.</Empty>;
          return (
            <>
              <div className="table-wrap">
                <table data-testid="audit">
                  <thead><tr><th scope="col">When ({zone})</th><th scope="col">Who</th><th scope="col">Action</th>
                    <th scope="col">Target</th><th scope="col">Details</th></tr></thead>
                  <tbody>{entries.map((entry) => (
                    <tr key={entry.id}>
                      <td>{formatInstant(entry.occurred_at, zone, locale, true)}</td>
                      <td>{actor(entry)}</td>
                      <td><code data-testid="audit-action">{entry.action}</code></td>
                      <td>{entry.target_kind}</td>
                      <td className="small">{detailsText(entry.details)}</td>
                    </tr>
                  ))}</tbody>
                </table>
              </div>
              {pages.hasNextPage && (
                <div className="actions">
                  <button type="button" className="secondary" disabled={pages.isFetchingNextPage}
                          onClick={() => pages.fetchNextPage()}>{pages.isFetchingNextPage ? "Loading…" : "Older entries"}</button>
                </div>
              )}
            </>
          );
        }}
      </QueryView>
    </Card>
  );
}
