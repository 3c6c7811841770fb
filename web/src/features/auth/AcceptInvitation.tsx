// The page an invitation's link opens: the token comes from the link (or is pasted), the
// invited person chooses a password, and is signed in with the role they were invited to.
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, ApiError, type Schemas } from "../../lib/api";
import { setSession, userSession } from "../../lib/session";
import { AuthFrame, FormError } from "./AuthFrame";

async function accept(token: string, password: string): Promise<void> {
  const tokens = await api<Schemas["AccessTokenPublic"]>("/v1/invitations/accept", {
    method: "POST", body: { token, password }, anonymous: true });
  const session = userSession(tokens, "");
  setSession(session);
  // The answer names no email: ask who this is, with the new token.
  const me = await api<Schemas["api__users__schemas__UserPublic"]>("/v1/users/me");
  setSession({ ...session, email: me.email });
}

export function AcceptInvitation() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [token, setToken] = useState(params.get("token") ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await accept(token.trim(), password);
      navigate("/", { replace: true });
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : "The API could not be reached.");
    } finally {
      setBusy(false);
    }
  }

  const problem = (field: string) =>
    error instanceof ApiError ? error.problems.find((p) => p.field.endsWith(field))?.reason : undefined;
  return (
    <AuthFrame title="Accept your invitation">
      <form onSubmit={submit} className="form">
        {!params.get("token") && (
          <label>Invitation token (from the email)
            <input required value={token} autoComplete="off" onChange={(e) => setToken(e.target.value)} />
          </label>
        )}
        <label>Choose a password (long and hard to guess)
          <input type="password" autoComplete="new-password" required minLength={10} value={password}
                 aria-invalid={!!problem("password")} onChange={(e) => setPassword(e.target.value)} />
          {problem("password") && <span className="field-error">{problem("password")}</span>}
        </label>
        <FormError message={error === null ? null : typeof error === "string" ? error
          : problem("token") ? `This invitation cannot be used: ${problem("token")}.` : error.message} />
        <button type="submit" disabled={busy}>{busy ? "Joining…" : "Join"}</button>
      </form>
      <p className="muted">Already have an account? <Link to="/sign-in">Sign in</Link></p>
    </AuthFrame>
  );
}
