import type { ReactNode } from "react";

export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth">
      <div className="auth-card">
        <div className="brand brand-large" aria-hidden="true">Meterline</div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

export function FormError({ message }: { message: string | null }) {
  return message ? <div className="form-error" role="alert">{message}</div> : null;
}
