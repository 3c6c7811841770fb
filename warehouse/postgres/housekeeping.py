"""The housekeeping deletes (billing_jobs.housekeeping.HousekeepingStore) over PostgreSQL.

Each kind is deleted in batches of `batch_rows`, one short transaction per batch, until a
batch comes back short: a backlog of millions never holds its row locks for long, and a
refresh or an invitation being accepted meanwhile waits for one batch at most. The
predicates are billing_jobs.housekeeping's; only ended rows match, and an ended row is
never written again, so a batch cannot delete a row that changed under it into a live one.

`audit_event` is never touched: it is the tenants' record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, TextClause, text

from billing_jobs.housekeeping import HousekeepingStore

from .transient import retryable_on_connection_loss

__all__ = ["PgHousekeepingStore"]

# refresh_token_expires_at (migration shared_1200) finds them without a scan of the table.
_USED_REFRESH_TOKENS = text("""
    DELETE FROM public.refresh_token WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM public.refresh_token
        WHERE used_at IS NOT NULL AND expires_at < :before
        LIMIT :batch))
""")

# Revoked before the cut-off, or no token valid at or after it (the session's latest token,
# never pruned on its own, says when it ended). Its tokens go with it: ON DELETE CASCADE.
_ENDED_SESSIONS = text("""
    DELETE FROM public.user_session WHERE ctid = ANY(ARRAY(
        SELECT s.ctid FROM public.user_session s
        WHERE s.created_at < :before
          AND (s.revoked_at < :before
               OR NOT EXISTS (SELECT 1 FROM public.refresh_token t
                              WHERE t.session_id = s.id AND t.expires_at >= :before))
        LIMIT :batch))
""")

_ENDED_INVITATIONS = text("""
    DELETE FROM public.user_invitation WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM public.user_invitation
        WHERE accepted_at < :before OR revoked_at < :before OR expires_at < :before
        LIMIT :batch))
""")


@retryable_on_connection_loss
class PgHousekeepingStore:
    def __init__(self, engine: Engine, batch_rows: int = 10_000) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
        self._engine = engine
        self._batch_rows = batch_rows

    def prune_used_refresh_tokens(self, expired_before: datetime) -> int:
        return self._in_batches(_USED_REFRESH_TOKENS, expired_before)

    def prune_ended_sessions(self, ended_before: datetime) -> int:
        return self._in_batches(_ENDED_SESSIONS, ended_before)

    def prune_ended_invitations(self, ended_before: datetime) -> int:
        return self._in_batches(_ENDED_INVITATIONS, ended_before)

    def _in_batches(self, statement: TextClause, before: datetime) -> int:
        deleted = 0
        while True:
            with self._engine.begin() as conn:
                batch = conn.execute(statement, {"before": before, "batch": self._batch_rows}).rowcount
            deleted += batch
            if batch < self._batch_rows:
                return deleted


_: type[HousekeepingStore] = PgHousekeepingStore
