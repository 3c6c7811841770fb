import { useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router-dom";
import { ApiError } from "../../lib/api";
import { endReason } from "../../lib/session";
import { signIn, signInOperator } from "./api";
import { AuthFrame, FormError } from "./AuthFrame";

const ENDED: Record<string, string> = {
  expired: "Your session ended. Sign in again to continue.",
  refused: "The API refused your session. Sign in again.",
};

/** Why a sign-in failed, in words: locked or suspended accounts are explained, not just refused. */
function explain(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : "The API could not be reached.";
  if (error.status === 401) return "Wrong email or password.";
  if (error.status === 429) return `Too many attempts: this account or address is locked for a while. ${error.message}`;
  if (error.status === 403) return `This account cannot sign in: ${error.message}`;
  return error.message;
}

export function SignIn() {
  const navigate = useNavigate();
  const location = useLocation();
  const [mode, setMode] = useState<"user" | "operator">("user");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ended = endReason();
  const next = (location.state as { from?: string } | null)?.from;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "user") {
        await signIn(email, password);
        navigate(next ?? "/", { replace: true });
      } else {
        await signInOperator(email, password);
        navigate(next?.startsWith("/operator") ? next : "/operator", { replace: true });
      }
    } catch (failure) {
      setError(explain(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthFrame title="Sign in to Meterline">
      {ended && ENDED[ended] && <div className="notice" role="status">{ENDED[ended]}</div>}
      <div className="segmented" role="tablist" aria-label="Who is signing in">
        <button type="button" role="tab" aria-selected={mode === "user"} onClick={() => setMode("user")}>Team member</button>
        <button type="button" role="tab" aria-selected={mode === "operator"} onClick={() => setMode("operator")}>Operator</button>
      </div>
      <form onSubmit={submit} className="form">
        <label>Email<input type="email" autoComplete="username" required value={email}
                           onChange={(e) => setEmail(e.target.value)} /></label>
        <label>Password<input type="password" autoComplete="current-password" required value={password}
                              onChange={(e) => setPassword(e.target.value)} /></label>
        {mode === "operator" && <p className="muted small">Operator accounts (finance, SRE) are made by the platform's
          bootstrap token or <code>meterline operator create</code>; a team member's account does not sign in here.</p>}
        <FormError message={error} />
        <button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
      <p className="muted">New to Meterline? <Link to="/register">Register your company</Link></p>
    </AuthFrame>
  );
}
