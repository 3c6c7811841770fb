// A suspended or deleting tenant is said so on every page, with the reason the API gives.
import { formatInstant } from "../../lib/format";
import { useLocale, useSession } from "../../lib/useSession";
import { useStanding } from "./TenantLifecycle";

const MEANING = {
  suspended: "This tenant is suspended: ingest refuses its API keys until it is resumed.",
  deleting: "This tenant is being deleted: ingest refuses its API keys, and its data is purged after the grace period.",
};

export function TenantStanding() {
  const session = useSession();
  const locale = useLocale();
  const standing = useStanding(session?.kind === "user");
  if (session?.kind !== "user") return null;
  const status = standing.data?.status ?? session.tenantStatus;
  const reason = standing.data ? standing.data.status_reason : session.tenantStatusReason;
  if (status === "active") return null;
  return (
    <div className={`standing standing-${status}`} role="status" data-testid="tenant-standing">
      <strong>{MEANING[status]}</strong>
      {status === "deleting" && standing.data?.purge_after
        ? <> Purged after {formatInstant(standing.data.purge_after, "UTC", locale)} UTC.</>
        : reason && <> Reason: {reason}.</>}
      {status === "deleting" && session.role === "owner" && <> The deletion can be cancelled in Settings.</>}
    </div>
  );
}
