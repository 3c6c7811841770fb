// The owner's end of the tenant: take an export (every meter, invoice, payment and usage
// window as JSON), then ask for deletion, which waits out a grace period and can be
// cancelled until then. The API refuses a deletion without a recent export.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Card } from "../../components/Card";
import { ErrorState, QueryView } from "../../components/States";
import { api, apiResponse, type Schemas } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import { browserTimeZone } from "../../lib/timeRange";

export type Standing = Schemas["TenantStandingPublic"];

export function useStanding(enabled = true) {
  return useQuery({ queryKey: ["tenant-standing"], queryFn: () => api<Standing>("/v1/tenant"), enabled });
}

/** Whole days between the deletion request and the purge: the grace period it was given. */
export function graceDays(standing: Standing): number | null {
  if (!standing.deletion_requested_at || !standing.purge_after) return null;
  const span = new Date(standing.purge_after).getTime() - new Date(standing.deletion_requested_at).getTime();
  return Math.round(span / 86_400_000);
}

async function downloadExport(slug: string): Promise<void> {
  const response = await apiResponse("/v1/tenant/export");
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `meterline-export-${slug}.json`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function TenantLifecycle({ locale }: { locale: string }) {
  const queries = useQueryClient();
  const zone = browserTimeZone();
  const standing = useStanding();
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState("");
  const done = (next?: Standing) => {
    setConfirming(false);
    setTyped("");
    if (next) queries.setQueryData(["tenant-standing"], next);
    // The audit log records exports and deletion requests.
    return Promise.all([queries.invalidateQueries({ queryKey: ["tenant-standing"] }),
      queries.invalidateQueries({ queryKey: ["audit"] })]);
  };
  const takeExport = useMutation({ mutationFn: (slug: string) => downloadExport(slug), onSuccess: () => done() });
  const requestDeletion = useMutation({
    mutationFn: () => api<Standing>("/v1/tenant/deletion", { method: "POST" }), onSuccess: done });
  const cancelDeletion = useMutation({
    mutationFn: () => api<Standing>("/v1/tenant/deletion", { method: "DELETE" }), onSuccess: done });

  return (
    <Card title="Export and deletion" className="span-3">
      <QueryView query={standing} what="the tenant's standing">
        {(tenant) => (
          <>
            <dl className="facts" data-testid="standing">
              <dt>Tenant</dt><dd>{tenant.name} <span className="muted">({tenant.slug})</span></dd>
              <dt>Status</dt><dd><span className={`badge badge-tenant-${tenant.status}`} data-testid="tenant-status">{tenant.status}</span>
                {tenant.status_reason && <span className="muted"> {tenant.status_reason}</span>}</dd>
              <dt>Last export</dt><dd data-testid="export-taken">{tenant.export_taken_at ? `${formatInstant(tenant.export_taken_at, zone, locale)} (${zone})` : "never"}</dd>
              {tenant.purge_after && (<>
                <dt>Deletion</dt>
                <dd data-testid="purge-after">asked {formatInstant(tenant.deletion_requested_at!, zone, locale)}; everything is purged after{" "}
                  <strong>{formatInstant(tenant.purge_after, zone, locale)}</strong> ({zone}), a grace period of {graceDays(tenant)} days</dd>
              </>)}
            </dl>
            <div className="actions">
              <button type="button" className="secondary" disabled={takeExport.isPending} onClick={() => takeExport.mutate(tenant.slug)}>
                {takeExport.isPending ? "Preparing the export…" : "Download an export"}</button>
              {tenant.status === "deleting"
                ? <button type="button" disabled={cancelDeletion.isPending} onClick={() => cancelDeletion.mutate()}>Cancel the deletion</button>
                : <button type="button" className="secondary danger-text" onClick={() => setConfirming(true)}>Delete this tenant…</button>}
            </div>
            {takeExport.error && <ErrorState error={takeExport.error} />}
            {cancelDeletion.error && <ErrorState error={cancelDeletion.error} />}
            {confirming && (
              <div className="confirm" role="alertdialog" aria-label="Confirm deletion">
                <p>Deleting stops ingest at once (every API key is refused) and purges all of <strong>{tenant.name}</strong>'s data
                  after the grace period, unless cancelled before. It needs an export taken in the last hours.</p>
                <label>Type <strong>{tenant.slug}</strong> to confirm<input value={typed} onChange={(e) => setTyped(e.target.value)} /></label>
                <button type="button" className="danger" disabled={typed !== tenant.slug || requestDeletion.isPending}
                        onClick={() => requestDeletion.mutate()}>Delete the tenant</button>
                <button type="button" className="secondary" onClick={() => { setConfirming(false); setTyped(""); }}>Keep it</button>
                {requestDeletion.error && <ErrorState error={requestDeletion.error} />}
              </div>
            )}
          </>
        )}
      </QueryView>
    </Card>
  );
}
