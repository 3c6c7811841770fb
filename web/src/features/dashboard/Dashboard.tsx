// This period at a glance: usage per meter against the plan's limits, how fresh it is,
// and the latest alerts. Periods are calendar months in UTC, as invoices bill them.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { Card, PageHeader } from "../../components/Card";
import { Freshness } from "../../components/Freshness";
import { InvoicePreview } from "../billing/InvoicePreview";
import { LimitBar } from "../../components/LimitBar";
import { Empty, ErrorState, Loading, QueryView } from "../../components/States";
import { api, type Schemas } from "../../lib/api";
import { formatInstant, formatQuantity } from "../../lib/format";
import { atLeast } from "../../lib/session";
import { useSubscription } from "../../lib/tenant";
import { apiInstant, resolveRange } from "../../lib/timeRange";
import { useLocale, useSession } from "../../lib/useSession";

type Outbox = Schemas["OutboxMessagePublic"][];

export function periodQuery(now: Date) {
  const period = resolveRange("month", "UTC", now);
  return { from: apiInstant(period.from), to: apiInstant(period.to), window: "month", tz: "UTC" };
}

export default function Dashboard() {
  const session = useSession();
  const locale = useLocale();
  const subscription = useSubscription();
  const query = periodQuery(new Date());
  const usage = useQuery({
    queryKey: ["period-usage", query.from],
    queryFn: () => api<Schemas["UsageQueryPublic"]>("/v1/usage/query", { query: { ...query, limit: 1 } }),
    refetchInterval: 15_000,
  });
  const alerts = useQuery({
    queryKey: ["alerts"], enabled: atLeast(session, "member"),
    queryFn: () => api<Outbox>("/v1/notifications/outbox", { query: { limit: 5 } }),
  });
  const limits = subscription.data?.plan.limits ?? [];

  return (
    <>
      <PageHeader title="Dashboard">
        {usage.data && <Freshness watermark={usage.data.watermark} timeZone="UTC" locale={locale} />}
      </PageHeader>
      <div className="grid">
        <Card title="This period" className="span-2">
          <p className="muted small" data-testid="period">
            {formatInstant(query.from, "UTC", locale)} – now (UTC), billed on the 1st
          </p>
          {usage.isPending || subscription.isPending ? <Loading what="this period's usage" />
            : usage.error ? <ErrorState error={usage.error} retry={() => usage.refetch()} />
              : usage.data!.totals.length === 0 ? (
                <Empty title="No meters yet">Create a meter through the API, then push events to see them here.</Empty>
              ) : usage.data!.totals.map((total) => {
                const limit = limits.find((l) => l.meter_slug === total.meter) ?? null;
                return (
                  <LimitBar key={total.meter} label={total.meter} used={total.quantity}
                            usedText={formatQuantity(total.quantity, locale)}
                            limit={limit?.quantity ?? null}
                            limitText={limit ? `${formatQuantity(limit.quantity, locale)} (${limit.kind})` : null} />
                );
              })}
        </Card>
        <Card title="Plan">
          <QueryView query={subscription} what="the subscription">
            {(current) => current === null ? (
              <Empty title="No subscription">{atLeast(session, "admin") ? "Choose a plan in Billing." : "An admin chooses the plan."}</Empty>
            ) : (
              <dl className="facts">
                <dt>Plan</dt><dd data-testid="plan-name">{current.plan.name}</dd>
                <dt>Status</dt><dd><span className={`badge badge-${current.status}`}>{current.status}</span>
                  {current.cancel_at_period_end && <span className="badge badge-warn">ends at period end</span>}</dd>
                <dt>Since</dt><dd>{formatInstant(current.started_at, "UTC", locale)}</dd>
              </dl>
            )}
          </QueryView>
          <Link to="/billing">Invoices and plan →</Link>
        </Card>
        <InvoicePreview locale={locale} className="span-3" />
        {atLeast(session, "member") && (
          <Card title="Recent alerts" className="span-3">
            <QueryView query={alerts} what="alerts">
              {(messages) => messages.length === 0 ? <Empty title="No alerts">Limit alerts and notices appear here.</Empty> : (
                <ul className="list">
                  {messages.map((m) => (
                    <li key={m.id}>
                      <strong>{m.subject}</strong>
                      <span className="muted small"> · {m.channel} · {formatInstant(m.created_at, "UTC", locale)} UTC
                        {m.sent_at ? " · sent" : m.last_error ? ` · not sent: ${m.last_error}` : " · pending"}</span>
                    </li>
                  ))}
                </ul>
              )}
            </QueryView>
          </Card>
        )}
      </div>
    </>
  );
}
