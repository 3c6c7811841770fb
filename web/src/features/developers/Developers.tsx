import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { Card, PageHeader } from "../../components/Card";
import { CopyButton } from "../../components/CopyButton";
import { Empty, ErrorState, Loading, QueryView } from "../../components/States";
import { api, ApiError, appConfig, ingestEndpoint, type Schemas } from "../../lib/api";
import { formatCount, formatInstant } from "../../lib/format";
import { atLeast } from "../../lib/session";
import { useMeters } from "../../lib/tenant";
import { browserTimeZone } from "../../lib/timeRange";
import { useLocale, useSession } from "../../lib/useSession";

type EventView = Schemas["EventViewPublic"];

const FATE_LABEL: Record<EventView["fate"], string> = {
  counted: "counted", dead_lettered: "dead-lettered", unmetered: "unmetered (no meter counts this type)",
};

function Fate({ event }: { event: EventView }) {
  return (
    <>
      <span className={`badge badge-${event.fate}`}>{FATE_LABEL[event.fate]}</span>
      {event.counted_by.length > 0 && <span className="muted small"> by {event.counted_by.join(", ")}</span>}
      {event.dead_letters.map((d) => (
        <div key={d.meter + d.at} className="small danger-text">{d.meter || "whole event"}: {d.reason}</div>
      ))}
    </>
  );
}

function EventRows({ events, zone, locale }: { events: EventView[]; zone: string; locale: string }) {
  return (
    <div className="table-wrap">
      <table data-testid="events">
        <thead><tr><th scope="col">Event id</th><th scope="col">Type</th><th scope="col">Subject</th>
          <th scope="col">Time ({zone})</th><th scope="col">Fate</th></tr></thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id}>
              <td><code>{event.id}</code></td><td>{event.type}</td><td>{event.subject ?? "–"}</td>
              <td>{formatInstant(event.time, zone, locale, true)}</td><td><Fate event={event} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EventSearch({ zone, locale }: { zone: string; locale: string }) {
  const [id, setId] = useState("");
  const [asked, setAsked] = useState<string | null>(null);
  const found = useQuery({
    queryKey: ["event", asked], enabled: asked !== null,
    queryFn: () => api<EventView>(`/v1/events/${encodeURIComponent(asked!)}`),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    if (id.trim()) setAsked(id.trim());
  }
  return (
    <>
      <form className="controls" onSubmit={submit} role="search">
        <label>Event id<input value={id} onChange={(e) => setId(e.target.value)} placeholder="the id your app sent" /></label>
        <button type="submit">Find</button>
      </form>
      {asked !== null && (found.isPending ? <Loading what="the event" />
        : found.error instanceof ApiError && found.error.status === 404
          ? <Empty title={`No event ${asked}`}>It was never accepted, or is still on its way through the stream.</Empty>
          : found.error ? <ErrorState error={found.error} />
            : found.data && <EventRows events={[found.data]} zone={zone} locale={locale} />)}
    </>
  );
}

export default function Developers() {
  const session = useSession();
  const locale = useLocale();
  const zone = browserTimeZone();
  const config = useQuery({ queryKey: ["app-config"], queryFn: appConfig, staleTime: Infinity });
  const meters = useMeters();
  const recent = useQuery({
    queryKey: ["recent-events"], refetchInterval: 5_000,
    queryFn: () => api<Schemas["RecentEventsPublic"]>("/v1/events/recent", { query: { limit: 50 } }),
  });
  // GET /v1/stream/dead-letters needs `read` (api/permissions.py): every role of the tenant.
  const mayRead = atLeast(session, "viewer");
  const deadLetters = useQuery({
    queryKey: ["dead-letters"], enabled: mayRead,
    queryFn: () => api<Schemas["DeadLetterPublic"][]>("/v1/stream/dead-letters", { query: { limit: 50 } }),
  });
  const endpoint = ingestEndpoint(config.data);
  const type = meters.data?.[0]?.event_type ?? "api.call";
  const example = `curl -X POST ${endpoint} \\
  -H "Authorization: Bearer $METERLINE_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"specversion": "1.0", "id": "'$(uuidgen)'", "source": "my-app", "type": "${type}", "subject": "customer-1", "data": {}}'`;

  return (
    <>
      <PageHeader title="Developers" />
      <div className="grid">
        <Card title="Send usage" className="span-3" actions={<CopyButton text={example} label="Copy example" />}>
          <p>Push CloudEvents to <code data-testid="ingest-endpoint">{endpoint}</code> with one of your API keys.</p>
          <pre className="code" tabIndex={0}><code>{example}</code></pre>
        </Card>
        <Card title="Recent events" className="span-3">
          <EventSearch zone={zone} locale={locale} />
          <QueryView query={recent} what="recent events">
            {(page) => page.events.length === 0 ? <Empty title="No events yet">Send one with the example above; it shows here within seconds.</Empty> : (
              <>
                <p className="muted small" data-testid="duplicates">{formatCount(page.duplicates_dropped, locale)} duplicate copies dropped over this page's span</p>
                <EventRows events={page.events} zone={zone} locale={locale} />
              </>
            )}
          </QueryView>
        </Card>
        {mayRead && (
          <Card title="Dead letters" className="span-3">
            <QueryView query={deadLetters} what="dead letters">
              {(letters) => letters.length === 0 ? <Empty title="No dead letters">Every event was counted or is unmetered.</Empty> : (
                <div className="table-wrap">
                  <table data-testid="dead-letters">
                    <thead><tr><th scope="col">Event id</th><th scope="col">Meter</th><th scope="col">Reason</th><th scope="col">When ({zone})</th></tr></thead>
                    <tbody>{letters.map((d) => (
                      <tr key={d.id}><td><code>{d.event_id}</code></td><td>{d.meter_slug || "whole event"}</td><td>{d.reason}</td>
                        <td>{formatInstant(d.created_at, zone, locale, true)}</td></tr>
                    ))}</tbody>
                  </table>
                </div>
              )}
            </QueryView>
          </Card>
        )}
      </div>
    </>
  );
}
