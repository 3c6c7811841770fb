// Keeps a user's session alive: refreshes the access token a minute before it expires
// (when the API offers refresh), and ends the session at expiry otherwise.
import { useEffect } from "react";
import { refreshSession } from "../../lib/api";
import { setSession } from "../../lib/session";
import { useSession } from "../../lib/useSession";

export function SessionKeeper() {
  const session = useSession();
  const expiresAt = session?.kind === "user" ? session.expiresAt : null;
  useEffect(() => {
    if (!expiresAt) return;
    const left = new Date(expiresAt).getTime() - Date.now();
    const refreshTimer = setTimeout(async () => {
      if (!(await refreshSession())) {
        const stillLeft = new Date(expiresAt).getTime() - Date.now();
        setTimeout(() => setSession(null, "expired"), Math.max(0, stillLeft));
      }
    }, Math.max(0, left - 60_000));
    return () => clearTimeout(refreshTimer);
  }, [expiresAt]);
  return null;
}
