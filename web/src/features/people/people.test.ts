import { describe, expect, it } from "vitest";
import { refreshDelay } from "../auth/SessionKeeper";
import { detailsText } from "./AuditLog";
import { acceptLink, invitationTokens } from "./Invitations";
import { graceDays, type Standing } from "./TenantLifecycle";

const message = (body: Record<string, unknown>) => ({
  id: crypto.randomUUID(), channel: "email", recipient: "a@b.example", subject: "s", body,
  created_at: "2026-12-06T10:00:00Z", sent_at: null, attempts: 0, last_error: null,
});

describe("invitations", () => {
  it("finds each invitation's token in its email, the newest (listed first) winning", () => {
    const tokens = invitationTokens([
      message({ type: "invitation", id: "inv-1", token: "mli_new" }),
      message({ type: "invitation", id: "inv-1", token: "mli_old" }),
      message({ type: "limit_alert", id: "inv-2", token: "not an invitation" }),
      message({ type: "invitation", id: "inv-3" }), // shown to someone who may not invite: no token
    ]);
    expect([...tokens]).toEqual([["inv-1", "mli_new"]]);
  });

  it("links to the accept page with the token encoded", () => {
    expect(acceptLink("https://app.example/", "mli_a+b/c")).toBe("https://app.example/accept-invitation?token=mli_a%2Bb%2Fc");
  });
});

describe("the session keeper", () => {
  it("refreshes a minute ahead of a long-lived token, a fifth of the time left ahead of a short one", () => {
    const now = Date.parse("2026-12-06T10:00:00Z");
    expect(refreshDelay("2026-12-06T10:30:00Z", now)).toBe(29 * 60_000);
    expect(refreshDelay("2026-12-06T10:01:00Z", now)).toBe(48_000);
    expect(refreshDelay("2026-12-06T09:59:00Z", now)).toBe(0); // already expired: at once
  });
});

describe("the tenant's standing and the audit log", () => {
  it("states the grace period the deletion was given, in days", () => {
    const standing = { deletion_requested_at: "2026-12-06T10:00:00Z", purge_after: "2026-12-13T10:00:00Z" } as Standing;
    expect(graceDays(standing)).toBe(7);
    expect(graceDays({ ...standing, purge_after: null })).toBeNull();
  });

  it("writes an entry's details on one line", () => {
    expect(detailsText({ role: "viewer", email: "a@b.example", limits: { soft: 1 } }))
      .toBe('role: viewer · email: a@b.example · limits: {"soft":1}');
  });
});
