// Inviting people: an email with a single-use token goes out (it waits in the notification
// outbox when no SMTP is set); the link to this app's accept page carries that token.
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Card } from "../../components/Card";
import { CopyButton } from "../../components/CopyButton";
import { Empty, ErrorState, QueryView } from "../../components/States";
import { api, type Schemas } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import type { Role } from "../../lib/session";
import { browserTimeZone } from "../../lib/timeRange";
import { useSession } from "../../lib/useSession";
import { assignableRoles } from "./roles";

type Invitation = Schemas["InvitationPublic"];
type Outbox = Schemas["OutboxMessagePublic"][];

/** The accept page's address for an invitation token. */
export function acceptLink(origin: string, token: string): string {
  return `${origin.replace(/\/$/, "")}/accept-invitation?token=${encodeURIComponent(token)}`;
}

/** Each invitation's token, from its email in the outbox (shown only to those who may invite). */
export function invitationTokens(messages: Outbox): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const message of messages) {
    const body = message.body as { type?: string; id?: string; token?: string };
    if (body.type === "invitation" && body.id && body.token && !tokens.has(body.id)) tokens.set(body.id, body.token);
  }
  return tokens;
}

export function Invitations({ locale }: { locale: string }) {
  const session = useSession();
  const queries = useQueryClient();
  const zone = browserTimeZone();
  const roles = assignableRoles(session?.kind === "user" ? session.role : "viewer");
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const invitations = useQuery({ queryKey: ["invitations"], queryFn: () => api<Invitation[]>("/v1/users/invitations") });
  const emails = useQuery({
    queryKey: ["invitation-emails"],
    queryFn: () => api<Outbox>("/v1/notifications/outbox", { query: { channel: "email", limit: 500 } }),
  });
  // The audit log records each invitation and withdrawal.
  const refresh = () => Promise.all(["invitations", "invitation-emails", "audit"].map((key) =>
    queries.invalidateQueries({ queryKey: [key] })));
  const invite = useMutation({
    mutationFn: () => api<Invitation>("/v1/users/invitations", { method: "POST", body: { email: email.trim(), role } }),
    onSuccess: () => { setEmail(""); return refresh(); },
  });
  const withdraw = useMutation({
    mutationFn: (invitation: Invitation) => api(`/v1/users/invitations/${invitation.id}`, { method: "DELETE" }),
    onSuccess: refresh,
  });
  const tokens = invitationTokens(emails.data ?? []);

  function submit(e: FormEvent) {
    e.preventDefault();
    invite.mutate();
  }

  return (
    <Card title="Invitations" className="span-3">
      <form className="controls" onSubmit={submit} aria-label="Invite someone">
        <label>Email to invite<input type="email" required maxLength={254} value={email} onChange={(e) => setEmail(e.target.value)} /></label>
        <label>Role<select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {roles.map((r) => <option key={r} value={r}>{r}</option>)}
        </select></label>
        <button type="submit" disabled={invite.isPending}>Send invitation</button>
      </form>
      {invite.error && <ErrorState error={invite.error} />}
      {withdraw.error && <ErrorState error={withdraw.error} />}
      <QueryView query={invitations} what="invitations">
        {(list) => list.length === 0 ? <Empty title="No pending invitations">An invitation is listed here until it is accepted or expires.</Empty> : (
          <div className="table-wrap">
            <table data-testid="invitations">
              <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Expires ({zone})</th>
                <th scope="col">Link to accept</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
              <tbody>{list.map((invitation) => {
                const token = tokens.get(invitation.id);
                const link = token ? acceptLink(globalThis.location.origin, token) : null;
                return (
                  <tr key={invitation.id} data-testid={`invitation-${invitation.email}`}>
                    <td>{invitation.email}</td><td>{invitation.role}</td>
                    <td>{formatInstant(invitation.expires_at, zone, locale)}</td>
                    <td>{link ? <span className="secret small"><code data-testid="invitation-link">{link}</code><CopyButton text={link} /></span>
                      : <span className="muted small">sent by email</span>}</td>
                    <td><button type="button" className="secondary small danger-text" aria-label={`Withdraw the invitation of ${invitation.email}`}
                                onClick={() => withdraw.mutate(invitation)} disabled={withdraw.isPending}>Withdraw</button></td>
                  </tr>
                );
              })}</tbody>
            </table>
          </div>
        )}
      </QueryView>
    </Card>
  );
}
