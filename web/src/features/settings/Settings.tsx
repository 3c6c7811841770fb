// Settings, offered to every role: each card is shown to the roles that may read it, and its
// write controls to those that may change it (api/permissions.py; the API refuses the rest).
import { PageHeader } from "../../components/Card";
import { atLeast } from "../../lib/session";
import { useLocale, useSession } from "../../lib/useSession";
import { AuditLog } from "../people/AuditLog";
import { Invitations } from "../people/Invitations";
import { TenantLifecycle } from "../people/TenantLifecycle";
import { Users } from "../people/Users";
import { AlertTarget } from "./AlertTarget";
import { AlertThresholds } from "./AlertThresholds";
import { ApiKeys } from "./ApiKeys";
import { Meters } from "./Meters";

export default function Settings() {
  const locale = useLocale();
  const session = useSession();
  return (
    <>
      <PageHeader title="Settings" />
      <div className="grid">
        {atLeast(session, "member") && <ApiKeys locale={locale} />}
        <Meters canCreate={atLeast(session, "manager")} />
        {atLeast(session, "manager") && <AlertTarget />}
        <AlertThresholds canChange={atLeast(session, "admin")} />
        <Users locale={locale} />
        {atLeast(session, "admin") && <Invitations locale={locale} />}
        {atLeast(session, "admin") && <AuditLog locale={locale} />}
        {atLeast(session, "owner") && <TenantLifecycle locale={locale} />}
      </div>
    </>
  );
}
