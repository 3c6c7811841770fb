// Every tenant's standing for operators: status and why, plan, lifecycle dates; suspend with a
// reason and resume for the roles that may (tenants.suspend), which the API checks anyway.
import { useState, type FormEvent } from "react";
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { Card, PageHeader } from "../../components/Card";
import { Empty, ErrorState, Loading } from "../../components/States";
import { formatDate } from "../../lib/format";
import { operatorMay } from "../../lib/session";
import { useLocale, useSession } from "../../lib/useSession";
import { resumeTenant, suspendTenant, tenantsPage, type TenantStanding } from "./api";

const TIME_ZONE = "UTC";  // operators work across tenants: one clock for all of them

export default function Tenants() {
  const locale = useLocale();
  const mayAct = operatorMay(useSession(), "tenants.suspend");
  const pages = useInfiniteQuery({
    queryKey: ["operator", "tenants"],
    queryFn: ({ pageParam }) => tenantsPage(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const tenants = pages.data?.pages.flatMap((page) => page.tenants) ?? [];
  const date = (iso: string | null | undefined) => iso ? formatDate(iso, TIME_ZONE, locale) : "–";

  return (
    <>
      <PageHeader title="Tenants" />
      <Card title="Every tenant">
        {pages.isPending ? <Loading what="tenants" />
          : pages.error ? <ErrorState error={pages.error} retry={() => pages.refetch()} />
            : tenants.length === 0 ? <Empty title="No tenants yet">Tenants appear here once they register.</Empty> : (
              <div className="table-wrap">
                <table data-testid="tenants-table">
                  <thead><tr><th scope="col">Tenant</th><th scope="col">Status</th><th scope="col">Plan</th>
                    <th scope="col">Since (UTC)</th><th scope="col">Created (UTC)</th><th scope="col">Deletion</th>
                    {/* Named for screen readers; a visually-hidden span here would escape the scrolling wrapper. */}
                    {mayAct && <th scope="col" aria-label="Actions" />}</tr></thead>
                  <tbody>{tenants.map((tenant) => (
                    <tr key={tenant.id} data-testid={`tenant-${tenant.slug}`}>
                      <td><strong>{tenant.slug}</strong><div className="muted small">{tenant.name}</div></td>
                      <td data-testid="status"><span className={`badge badge-${tenant.status}`}>{tenant.status}</span>
                        {tenant.status_reason && <div className="small">{tenant.status_reason}</div>}
                        {tenant.suspended_by && <div className="muted small">by {tenant.suspended_by}</div>}</td>
                      <td data-testid="plan">{tenant.plan_slug ?? "–"}
                        {tenant.subscription_status && <div className="muted small">{tenant.subscription_status}</div>}</td>
                      <td>{date(tenant.status_changed_at)}</td>
                      <td>{date(tenant.created_at)}</td>
                      <td>{tenant.purge_after ? `purged after ${date(tenant.purge_after)}` : "–"}</td>
                      {mayAct && <td><Standing tenant={tenant} /></td>}
                    </tr>
                  ))}</tbody>
                </table>
                {pages.hasNextPage && (
                  <div className="actions">
                    <button type="button" className="secondary" disabled={pages.isFetchingNextPage}
                            onClick={() => pages.fetchNextPage()}>
                      {pages.isFetchingNextPage ? "Loading…" : "Load more tenants"}</button>
                  </div>
                )}
              </div>
            )}
      </Card>
    </>
  );
}

/** Suspend (asks the reason first) or resume one tenant; a deleting tenant is left to its owner. */
function Standing({ tenant }: { tenant: TenantStanding }) {
  const queries = useQueryClient();
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState("");
  const done = () => {
    setAsking(false);
    setReason("");
    return queries.invalidateQueries({ queryKey: ["operator", "tenants"] });
  };
  const suspend = useMutation({ mutationFn: () => suspendTenant(tenant.id, reason.trim()), onSuccess: done });
  const resume = useMutation({ mutationFn: () => resumeTenant(tenant.id), onSuccess: done });
  const failure = suspend.error ?? resume.error;

  if (tenant.status === "deleting") return <span className="muted small">deletion asked by its owner</span>;
  if (tenant.status === "suspended") {
    return (
      <>
        <button type="button" className="secondary small" disabled={resume.isPending}
                onClick={() => resume.mutate()} aria-label={`Resume ${tenant.slug}`}>Resume</button>
        {failure && <ErrorState error={failure} />}
      </>
    );
  }
  if (!asking) {
    return <button type="button" className="danger small" onClick={() => setAsking(true)}
                   aria-label={`Suspend ${tenant.slug}`}>Suspend</button>;
  }
  function submit(event: FormEvent) {
    event.preventDefault();
    suspend.mutate();
  }
  return (
    <form className="confirm form" onSubmit={submit}>
      <label>Why suspend {tenant.slug}? (shown to its people and by ingest)
        <input required value={reason} onChange={(e) => setReason(e.target.value)} autoFocus /></label>
      <div className="actions">
        <button type="submit" className="danger small" disabled={suspend.isPending || !reason.trim()}>
          Suspend {tenant.slug}</button>
        <button type="button" className="secondary small" onClick={() => setAsking(false)}>Cancel</button>
      </div>
      {failure && <ErrorState error={failure} />}
    </form>
  );
}
