import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Card } from "../../components/Card";
import { CopyButton } from "../../components/CopyButton";
import { ErrorState, QueryView } from "../../components/States";
import { api, type Schemas } from "../../lib/api";

type Target = Schemas["NotificationTargetPublic"];

export function AlertTarget() {
  const queries = useQueryClient();
  const target = useQuery({ queryKey: ["notification-target"], queryFn: () => api<Target>("/v1/notifications/target") });
  const [url, setUrl] = useState("");
  const [email, setEmail] = useState("");
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (target.data) {
      setUrl(target.data.webhook_url ?? "");
      setEmail(target.data.email ?? "");
    }
  }, [target.data]);
  const save = useMutation({
    mutationFn: (rotate: boolean) => api<Target>("/v1/notifications/target", {
      method: "PUT", body: { webhook_url: url.trim() || null, email: email.trim() || null, rotate_secret: rotate } }),
    onSuccess: (updated) => { setSaved(true); queries.setQueryData(["notification-target"], updated); },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    save.mutate(false);
  }
  return (
    <Card title="Alert targets" className="span-3">
      <p className="muted">Limit alerts (at the thresholds below) and billing notices go to these.</p>
      <QueryView query={target} what="alert targets">
        {(current) => (
          <form className="form form-wide" onSubmit={submit}>
            <label>Webhook URL (https)<input type="url" value={url} onChange={(e) => setUrl(e.target.value)}
                                             placeholder="https://example.com/meterline-alerts" /></label>
            <label>Email<input type="email" value={email} onChange={(e) => setEmail(e.target.value)} placeholder="billing@example.com" /></label>
            {current.webhook_secret && (
              <div>
                <span className="muted small">Webhook signing secret</span>
                <div className="secret"><code>{current.webhook_secret}</code><CopyButton text={current.webhook_secret} /></div>
              </div>
            )}
            <div className="actions">
              <button type="submit" disabled={save.isPending}>Save</button>
              {current.webhook_url && <button type="button" className="secondary" onClick={() => save.mutate(true)}>Rotate the secret</button>}
              {saved && <span role="status" className="ok-text">Saved</span>}
            </div>
            {save.error && <ErrorState error={save.error} />}
          </form>
        )}
      </QueryView>
    </Card>
  );
}
