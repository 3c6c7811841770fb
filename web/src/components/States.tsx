// Loading, error and empty states: every data view shows one of these instead of a blank.
import type { ReactNode } from "react";
import { ApiError } from "../lib/api";

export function Loading({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  const apiError = error instanceof ApiError ? error : null;
  const message = apiError ? apiError.message : error instanceof Error ? error.message : String(error);
  const hint = apiError?.status === 403 ? "Your role does not allow this."
    : apiError?.status === 503 ? "A service behind the API is unavailable; try again shortly."
      : apiError === null ? "The API could not be reached." : null;
  return (
    <div className="state state-error" role="alert">
      <strong>Could not load this.</strong> {message}
      {hint && <div className="muted">{hint}</div>}
      {apiError?.problems.map((p) => (
        <div key={p.field + p.reason} className="muted">{p.field}: {p.reason}</div>
      ))}
      {retry && <button type="button" className="secondary" onClick={retry}>Try again</button>}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children && <div className="muted">{children}</div>}
    </div>
  );
}

/** Renders `children(data)` once a query has data, else the matching state. */
export function QueryView<T>({ query, what, children }: {
  query: { data: T | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading what={what} />;
  if (query.error || query.data === undefined) return <ErrorState error={query.error} retry={() => query.refetch()} />;
  return <>{children(query.data)}</>;
}
