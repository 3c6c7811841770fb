// Keeps a user's session alive: trades the refresh token for a new pair shortly before the
// access token expires (a fifth of its remaining life, at most a minute, ahead), so pages
// never meet the expiry; when the refresh is refused the session ends at expiry.
import { useEffect } from "react";
import { refreshSession } from "../../lib/api";
import { setSession } from "../../lib/session";
import { useSession } from "../../lib/useSession";

export function refreshDelay(expiresAt: string, now: number): number {
  const left = new Date(expiresAt).getTime() - now;
  return Math.max(0, left - Math.min(60_000, left / 5));
}

export function SessionKeeper() {
  const session = useSession();
  const expiresAt = session?.kind === "user" ? session.expiresAt : null;
  useEffect(() => {
    if (!expiresAt) return;
    let expiryTimer: ReturnType<typeof setTimeout> | undefined;
    const refreshTimer = setTimeout(async () => {
      if (!(await refreshSession())) {
        const stillLeft = new Date(expiresAt).getTime() - Date.now();
        expiryTimer = setTimeout(() => setSession(null, "expired"), Math.max(0, stillLeft));
      }
    }, refreshDelay(expiresAt, Date.now()));
    return () => { clearTimeout(refreshTimer); clearTimeout(expiryTimer); };
  }, [expiresAt]);
  return null;
}
