// The tenant's people: who has which role, changing and removing them (only below one's own
// role), handing ownership on, and the role table that says what each role may do.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Card } from "../../components/Card";
import { ErrorState, QueryView } from "../../components/States";
import { api, refreshSession, type Schemas } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import { atLeast, ROLES, type Role } from "../../lib/session";
import { browserTimeZone } from "../../lib/timeRange";
import { useSession } from "../../lib/useSession";
import { assignableRoles, grants, manages, PERMISSIONS } from "./roles";

type User = Schemas["api__users__schemas__UserPublic"];
type Pending = { kind: "remove" | "transfer"; user: User };

export function RoleTable() {
  return (
    <details className="role-table">
      <summary>What each role may do</summary>
      <div className="table-wrap">
        <table data-testid="role-table">
          <thead><tr><th scope="col">Permission</th>{ROLES.map((role) => <th key={role} scope="col">{role}</th>)}</tr></thead>
          <tbody>{PERMISSIONS.map((permission) => (
            <tr key={permission.name}>
              <th scope="row">{permission.meaning}</th>
              {ROLES.map((role) => <td key={role} className="center">{grants(role, permission) ? "✓" : <span className="visually-hidden">no</span>}</td>)}
            </tr>
          ))}</tbody>
        </table>
      </div>
    </details>
  );
}

export function Users({ locale }: { locale: string }) {
  const session = useSession();
  const queries = useQueryClient();
  const zone = browserTimeZone();
  const me = session?.kind === "user" ? session : null;
  const myRole: Role = me?.role ?? "viewer";
  const users = useQuery({ queryKey: ["users"], queryFn: () => api<Schemas["UserPagePublic"]>("/v1/users", { query: { limit: 500 } }) });
  const [pending, setPending] = useState<Pending | null>(null);
  const refresh = () => Promise.all([queries.invalidateQueries({ queryKey: ["users"] }),
    queries.invalidateQueries({ queryKey: ["audit"] })]);
  const changeRole = useMutation({
    mutationFn: ({ user, role }: { user: User; role: Role }) => api<User>(`/v1/users/${user.id}/role`, { method: "PUT", body: { role } }),
    onSuccess: refresh,
  });
  const act = useMutation({
    mutationFn: ({ kind, user }: Pending) => kind === "remove"
      ? api(`/v1/users/${user.id}`, { method: "DELETE" })
      : api("/v1/users/transfer-ownership", { method: "POST", body: { user_id: user.id } }),
    onSuccess: async (_, { kind }) => {
      setPending(null);
      await refresh();
      // Now an admin: the current token still says owner; the next one carries the new role.
      if (kind === "transfer") {
        await refreshSession();
        await queries.invalidateQueries();
      }
    },
  });

  return (
    <Card title="Users" className="span-3">
      <RoleTable />
      {changeRole.error && <ErrorState error={changeRole.error} />}
      {pending && (
        <div className="confirm" role="alertdialog" aria-label={pending.kind === "remove" ? "Confirm removal" : "Confirm transfer"}>
          <p>{pending.kind === "remove"
            ? <>Remove <strong>{pending.user.email}</strong>? Their next request is refused; API keys they made keep working until revoked.</>
            : <>Make <strong>{pending.user.email}</strong> the owner? You become an admin at once.</>}</p>
          <button type="button" className="danger" disabled={act.isPending} onClick={() => act.mutate(pending)}>
            {pending.kind === "remove" ? "Remove" : "Transfer ownership"}</button>
          <button type="button" className="secondary" onClick={() => setPending(null)}>Keep as is</button>
          {act.error && <ErrorState error={act.error} />}
        </div>
      )}
      <QueryView query={users} what="users">
        {(page) => (
          <div className="table-wrap">
            <table data-testid="users">
              <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Joined ({zone})</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
              <tbody>{page.users.map((user) => {
                const role = user.role as Role;
                const mine = user.id === me?.userId;
                const canManage = atLeast(session, "admin") && !mine && manages(myRole, role);
                return (
                  <tr key={user.id} data-testid={`user-${user.email}`}>
                    <td>{user.email}{mine && <span className="muted"> (you)</span>}</td>
                    <td>{canManage ? (
                      <select aria-label={`Role of ${user.email}`} value={role} disabled={changeRole.isPending}
                              onChange={(e) => changeRole.mutate({ user, role: e.target.value as Role })}>
                        {assignableRoles(myRole).map((r) => <option key={r} value={r}>{r}</option>)}
                      </select>
                    ) : <span className={`badge badge-role-${role}`} data-testid="role">{role}</span>}</td>
                    <td>{formatInstant(user.created_at, zone, locale)}</td>
                    <td><div className="row-actions">
                      {myRole === "owner" && !mine && (
                        <button type="button" className="secondary small" aria-label={`Make ${user.email} the owner`}
                                onClick={() => setPending({ kind: "transfer", user })}>Make owner</button>)}
                      {canManage && (
                        <button type="button" className="secondary small danger-text" aria-label={`Remove ${user.email}`}
                                onClick={() => setPending({ kind: "remove", user })}>Remove</button>)}
                    </div></td>
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
