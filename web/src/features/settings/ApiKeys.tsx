import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Card } from "../../components/Card";
import { CopyButton } from "../../components/CopyButton";
import { Empty, ErrorState, QueryView } from "../../components/States";
import { api, type Schemas } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import { browserTimeZone } from "../../lib/timeRange";

type Key = Schemas["ApiKeyPublic"];

export function ApiKeys({ locale }: { locale: string }) {
  const queries = useQueryClient();
  const zone = browserTimeZone();
  const keys = useQuery({ queryKey: ["api-keys"], queryFn: () => api<Key[]>("/v1/api-keys") });
  const [name, setName] = useState("");
  const [created, setCreated] = useState<Schemas["ApiKeyCreatedPublic"] | null>(null);
  const [revoking, setRevoking] = useState<Key | null>(null);
  const create = useMutation({
    mutationFn: (keyName: string) => api<Schemas["ApiKeyCreatedPublic"]>("/v1/api-keys", { method: "POST", body: { name: keyName } }),
    onSuccess: (key) => { setCreated(key); setName(""); return queries.invalidateQueries({ queryKey: ["api-keys"] }); },
  });
  const revoke = useMutation({
    mutationFn: (key: Key) => api(`/v1/api-keys/${key.id}`, { method: "DELETE" }),
    onSuccess: () => { setRevoking(null); return queries.invalidateQueries({ queryKey: ["api-keys"] }); },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate(name.trim());
  }

  return (
    <Card title="API keys" className="span-3">
      <form className="controls" onSubmit={submit}>
        <label>New key's name<input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)}
                                    placeholder="production ingest" /></label>
        <button type="submit" disabled={create.isPending}>Create key</button>
      </form>
      {create.error && <ErrorState error={create.error} />}
      {created && (
        <div className="notice" role="status">
          <p>Key <strong>{created.name}</strong> is shown <strong>only now</strong>: copy it before leaving this page.</p>
          <div className="secret"><code data-testid="created-key">{created.key}</code><CopyButton text={created.key} /></div>
          <button type="button" className="secondary small" onClick={() => setCreated(null)}>I have stored it</button>
        </div>
      )}
      {revoking && (
        <div className="confirm" role="alertdialog" aria-label="Confirm revocation">
          <p>Revoke <strong>{revoking.name}</strong> ({revoking.prefix}…)? Ingest refuses it from now on.</p>
          <button type="button" className="danger" onClick={() => revoke.mutate(revoking)} disabled={revoke.isPending}>Revoke</button>
          <button type="button" className="secondary" onClick={() => setRevoking(null)}>Keep it</button>
          {revoke.error && <ErrorState error={revoke.error} />}
        </div>
      )}
      <QueryView query={keys} what="API keys">
        {(list) => list.length === 0 ? <Empty title="No API keys">Create one to push usage.</Empty> : (
          <div className="table-wrap">
            <table data-testid="api-keys">
              <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Created ({zone})</th>
                <th scope="col">State</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
              <tbody>{list.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td><td><code>{key.prefix}…</code></td>
                  <td>{formatInstant(key.created_at, zone, locale)}</td>
                  <td>{key.revoked_at ? <span className="badge badge-canceled">revoked {formatInstant(key.revoked_at, zone, locale)}</span>
                    : <span className="badge badge-active">active</span>}</td>
                  <td>{!key.revoked_at && <button type="button" className="secondary small danger-text"
                                                  onClick={() => setRevoking(key)} aria-label={`Revoke ${key.name}`}>Revoke</button>}</td>
                </tr>
              ))}</tbody>
            </table>
          </div>
        )}
      </QueryView>
    </Card>
  );
}
