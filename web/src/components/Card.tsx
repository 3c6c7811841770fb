import type { ReactNode } from "react";

export function Card({ title, actions, children, className }: {
  title: string; actions?: ReactNode; children: ReactNode; className?: string;
}) {
  const id = "card-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return (
    <section className={`card ${className ?? ""}`} aria-labelledby={id}>
      <header className="card-header">
        <h2 id={id}>{title}</h2>
        {actions && <div className="card-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {children && <div className="page-header-extra">{children}</div>}
    </header>
  );
}
