// The page an invitation's link opens: the token comes from the link (or is pasted), the
// page says which tenant and role it joins (POST /v1/invitations/preview: the token stays out
// of URLs the API logs), then the invited person chooses a password and is signed in with
// that role. A token that can no longer be used is explained instead of offering the form.
import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, ApiError, type Schemas } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import { setSession, userSession } from "../../lib/session";
import { browserTimeZone } from "../../lib/timeRange";
import { AuthFrame, FormError } from "./AuthFrame";

type Preview = Schemas["InvitationPreviewPublic"];

function previewInvitation(token: string): Promise<Preview> {
  return api<Preview>("/v1/invitations/preview", { method: "POST", body: { token }, anonymous: true });
}

/** Why the invitation cannot be used, in words for the invitee; null when the look-up failed otherwise. */
export function unusableReason(error: unknown): string | null {
  if (!(error instanceof ApiError)) return null;
  if (error.status === 404) return "This link does not belong to any invitation. Check that it was copied whole.";
  if (error.status === 410) return `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`;
  return null;
}

function Offer({ preview }: { preview: Preview }) {
  const zone = browserTimeZone();
  return (
    <div className="notice" data-testid="invitation-offer">
      <p><strong data-testid="invitation-join">Join {preview.tenant_name} as {preview.role}</strong></p>
      <p className="small">You will sign in as <strong data-testid="invitation-email">{preview.email}</strong>.
        The invitation expires {formatInstant(preview.expires_at, zone, navigator.language)} ({zone}).</p>
    </div>
  );
}

function Unusable({ reason }: { reason: string }) {
  return (
    <div className="notice" role="alert" data-testid="invitation-unusable">
      <p><strong>This invitation cannot be used</strong></p>
      <p>{reason}</p>
      <p className="small">Ask whoever invited you to send a new invitation.</p>
    </div>
  );
}

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
  const [asked, setAsked] = useState(params.get("token")?.trim() ?? "");
  const preview = useQuery({
    queryKey: ["invitation-preview", asked], enabled: asked !== "", retry: false, staleTime: Infinity,
    queryFn: () => previewInvitation(asked),
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await accept(asked, password);
      navigate("/", { replace: true });
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : "The API could not be reached.");
    } finally {
      setBusy(false);
    }
  }

  const problem = (field: string) =>
    error instanceof ApiError ? error.problems.find((p) => p.field.endsWith(field))?.reason : undefined;
  const unusable = unusableReason(preview.error);
  if (asked === "") {
    return (
      <AuthFrame title="Accept your invitation">
        <form onSubmit={(e) => { e.preventDefault(); setAsked(token.trim()); }} className="form">
          <label>Invitation token (from the email)
            <input required value={token} autoComplete="off" onChange={(e) => setToken(e.target.value)} />
          </label>
          <button type="submit">Continue</button>
        </form>
        <p className="muted">Already have an account? <Link to="/sign-in">Sign in</Link></p>
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title="Accept your invitation">
      {preview.isPending && <p className="muted" role="status">Looking up the invitation…</p>}
      {unusable && <Unusable reason={unusable} />}
      {preview.error && !unusable && <FormError message={preview.error instanceof ApiError
        ? `The invitation could not be looked up: ${preview.error.message}` : "The API could not be reached."} />}
      {!params.get("token") && (unusable || preview.error) && (
        <button type="button" className="secondary" onClick={() => { setAsked(""); setError(null); }}>Try another token</button>
      )}
      {preview.data && <Offer preview={preview.data} />}
      {preview.data && (
      <form onSubmit={submit} className="form">
        <label>Choose a password (long and hard to guess)
          <input type="password" autoComplete="new-password" required minLength={10} value={password}
                 aria-invalid={!!problem("password")} onChange={(e) => setPassword(e.target.value)} />
          {problem("password") && <span className="field-error">{problem("password")}</span>}
        </label>
        <FormError message={error === null ? null : typeof error === "string" ? error
          : problem("token") ? `This invitation cannot be used: ${problem("token")}.` : error.message} />
        <button type="submit" disabled={busy}>{busy ? "Joining…" : "Join"}</button>
      </form>
      )}
      <p className="muted">Already have an account? <Link to="/sign-in">Sign in</Link></p>
    </AuthFrame>
  );
}
