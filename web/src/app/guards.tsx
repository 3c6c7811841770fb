import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router-dom";
import { useSession } from "../lib/useSession";
import type { NavItem } from "./nav";
import { allowed } from "./nav";

/** Sends a visitor without a session to sign in, and a session to the page its role may see. */
export function Guard({ item, children }: { item: NavItem; children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (!session) return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  if (!allowed(item, session)) return <Navigate to={session.kind === "operator" ? "/operator" : "/"} replace />;
  return <>{children}</>;
}
