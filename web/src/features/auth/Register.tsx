import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { ApiError } from "../../lib/api";
import { CopyButton } from "../../components/CopyButton";
import { register, type Registration } from "./api";
import { AuthFrame, FormError } from "./AuthFrame";

function slugOf(name: string): string {
  return name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40);
}

export function Register() {
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [slugEdited, setSlugEdited] = useState(false);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<Registration | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setDone(await register({ name, slug, owner_email: email, owner_password: password }));
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : "The API could not be reached.");
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <AuthFrame title={`Welcome, ${done.tenant.name}`}>
        <p>Your first API key is shown <strong>only now</strong>. Keep it somewhere safe; you can create more in Settings.</p>
        <div className="secret">
          <code data-testid="new-api-key">{done.api_key.key}</code>
          <CopyButton text={done.api_key.key} />
        </div>
        <button type="button" onClick={() => navigate("/", { replace: true })}>Go to the dashboard</button>
      </AuthFrame>
    );
  }

  const problem = (field: string) =>
    error instanceof ApiError ? error.problems.find((p) => p.field.endsWith(field))?.reason : undefined;
  return (
    <AuthFrame title="Register your company">
      <form onSubmit={submit} className="form">
        <label>Company name<input required value={name} onChange={(e) => {
          setName(e.target.value);
          if (!slugEdited) setSlug(slugOf(e.target.value));
        }} /></label>
        <label>Short name (in addresses)
          <input required value={slug} pattern="[a-z0-9][a-z0-9\-]*" aria-invalid={!!problem("slug")}
                 onChange={(e) => { setSlug(e.target.value); setSlugEdited(true); }} />
          {problem("slug") && <span className="field-error">{problem("slug")}</span>}
        </label>
        <label>Your email<input type="email" autoComplete="username" required value={email}
                                onChange={(e) => setEmail(e.target.value)} />
          {problem("owner_email") && <span className="field-error">{problem("owner_email")}</span>}
        </label>
        <label>Password (long and hard to guess)
          <input type="password" autoComplete="new-password" required minLength={10} value={password}
                 aria-invalid={!!problem("owner_password")} onChange={(e) => setPassword(e.target.value)} />
          {problem("owner_password") && <span className="field-error">{problem("owner_password")}</span>}
        </label>
        <FormError message={error === null ? null : typeof error === "string" ? error : error.message} />
        <button type="submit" disabled={busy}>{busy ? "Registering…" : "Register"}</button>
      </form>
      <p className="muted">Already registered? <Link to="/sign-in">Sign in</Link></p>
    </AuthFrame>
  );
}
