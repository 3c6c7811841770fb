import { useState } from "react";
import { NavLink, Outlet, useNavigate } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { signOut as endSession } from "../lib/api";
import { useSession } from "../lib/useSession";
import { allowed, NAV } from "./nav";
import { TenantStanding } from "../features/people/TenantStanding";

export function Layout() {
  const session = useSession();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [open, setOpen] = useState(false);

  async function signOut() {
    await endSession();
    queries.clear();
    navigate("/sign-in", { replace: true });
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <span className="brand">Meterline</span>
        <button type="button" className="menu-toggle secondary" aria-expanded={open} aria-controls="main-nav"
                onClick={() => setOpen(!open)}>Menu</button>
        <nav id="main-nav" className={open ? "nav open" : "nav"} aria-label="Main">
          {NAV.filter((item) => allowed(item, session)).map((item) => (
            <NavLink key={item.to} to={item.to} end={item.to === "/" || item.to === "/operator"} onClick={() => setOpen(false)}>
              {item.label}
            </NavLink>
          ))}
        </nav>
        <div className="who">
          <span className="muted" data-testid="who">
            {session?.kind === "user" ? `${session.email} · ${session.role}`
              : session ? `${session.email} · ${session.role} operator` : ""}
          </span>
          <button type="button" className="secondary small" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main id="main" className="content" tabIndex={-1}>
        <TenantStanding />
        <Outlet />
      </main>
    </div>
  );
}
