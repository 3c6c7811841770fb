import { PageHeader } from "../../components/Card";
import { useLocale } from "../../lib/useSession";
import { AlertTarget } from "./AlertTarget";
import { ApiKeys } from "./ApiKeys";
import { Meters } from "./Meters";

export default function Settings() {
  const locale = useLocale();
  return (
    <>
      <PageHeader title="Settings" />
      <div className="grid">
        <ApiKeys locale={locale} />
        <Meters />
        <AlertTarget />
      </div>
    </>
  );
}
