import { PageHeader } from "../../components/Card";
import { atLeast } from "../../lib/session";
import { useLocale, useSession } from "../../lib/useSession";
import { AuditLog } from "../people/AuditLog";
import { Invitations } from "../people/Invitations";
import { TenantLifecycle } from "../people/TenantLifecycle";
import { Users } from "../people/Users";
import { AlertTarget } from "./AlertTarget";
import { ApiKeys } from "./ApiKeys";
import { Meters } from "./Meters";

export default function Settings() {
  const locale = useLocale();
  const session = useSession();
  return (
    <>
      <PageHeader title="Settings" />
      <div className="grid">
        <ApiKeys locale={locale} />
        <Meters />
        <AlertTarget />
        <Users locale={locale} />
        {atLeast(session, "admin") && <Invitations locale={locale} />}
        {atLeast(session, "admin") && <AuditLog locale={locale} />}
        {atLeast(session, "owner") && <TenantLifecycle locale={locale} />}
      </div>
    </>
  );
}
