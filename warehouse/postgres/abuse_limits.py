"""Abuse-limit state in PostgreSQL (tables of shared_0910), shared by every API replica.

Windows and lockouts are measured on the database's clock, so replicas whose clocks
disagree still count in the same windows. Each function is one statement.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["WindowCount", "count_requests", "count_hits", "record_login_failures", "lock_out",
           "lockout_left_s", "clear_login_failures", "prune_expired"]


@dataclass(frozen=True)
class WindowCount:
    key: str
    hits: int  # in the current window, this hit included
    seconds_left: float  # until the window ends


_WINDOW = """
    SELECT to_timestamp(floor(extract(epoch FROM now()) / :window_s) * :window_s) AS start
"""
_UPSERT = f"""
    INSERT INTO rate_counter AS c (key, window_start, window_end, hits)
    SELECT k, w.start, w.start + make_interval(secs => :window_s), 1
    FROM unnest(CAST(:keys AS text[])) AS k, ({_WINDOW}) AS w
    ON CONFLICT (key, window_start) DO UPDATE SET hits = c.hits + 1
    RETURNING key, hits, extract(epoch FROM window_end - now())::float8 AS seconds_left
"""
# The tenant's live plan rides along in the same statement: one round trip per request.
_REQUESTS = text(f"""
    WITH plan_of AS (
        SELECT p.slug FROM subscription s JOIN plan p ON p.id = s.plan_id
        WHERE s.tenant_id = :tenant_id AND s.status <> 'canceled' AND s.started_at <= now()
          AND (s.canceled_at IS NULL OR s.canceled_at > now())
        ORDER BY s.started_at DESC LIMIT 1
    ), counted AS ({_UPSERT})
    SELECT counted.*, (SELECT slug FROM plan_of) AS plan_slug FROM counted
""")


async def count_requests(conn: AsyncConnection, tenant_id: uuid.UUID, keys: list[str],
                         window_s: int) -> tuple[list[WindowCount], str | None]:
    """Add one hit to each key's current window; (the counts, the tenant's live plan slug)."""
    rows = (await conn.execute(_REQUESTS, {"tenant_id": tenant_id, "keys": keys, "window_s": window_s})).all()
    plan_slug = rows[0].plan_slug if rows else None
    return [WindowCount(r.key, r.hits, r.seconds_left) for r in rows], plan_slug


async def count_hits(conn: AsyncConnection, keys: list[str], window_s: int) -> list[WindowCount]:
    rows = (await conn.execute(text(_UPSERT), {"keys": keys, "window_s": window_s})).all()
    return [WindowCount(r.key, r.hits, r.seconds_left) for r in rows]


async def record_login_failures(conn: AsyncConnection, keys: list[str], window_s: int) -> dict[str, int]:
    """One more failure for each key (failures older than the window are forgotten); key -> failures."""
    rows = (await conn.execute(text("""
        INSERT INTO login_failure AS f (key, failures, last_failure_at)
        SELECT k, 1, now() FROM unnest(CAST(:keys AS text[])) AS k
        ON CONFLICT (key) DO UPDATE SET
            failures = CASE WHEN f.last_failure_at < now() - make_interval(secs => :window_s) THEN 1
                            ELSE f.failures + 1 END,
            last_failure_at = now()
        RETURNING key, failures
    """), {"keys": keys, "window_s": window_s})).all()
    return {r.key: r.failures for r in rows}


async def lock_out(conn: AsyncConnection, key: str, seconds: int) -> None:
    await conn.execute(text("UPDATE login_failure SET locked_until = now() + make_interval(secs => :s) WHERE key = :key"),
                       {"key": key, "s": seconds})


async def lockout_left_s(conn: AsyncConnection, keys: list[str]) -> float:
    """Seconds until the longest current lockout among `keys` ends (0: none locked)."""
    left = (await conn.execute(text("""
        SELECT max(extract(epoch FROM locked_until - now()))::float8 FROM login_failure
        WHERE key = ANY(CAST(:keys AS text[])) AND locked_until > now()
    """), {"keys": keys})).scalar_one()
    return left or 0.0


async def clear_login_failures(conn: AsyncConnection, key: str) -> None:
    await conn.execute(text("DELETE FROM login_failure WHERE key = :key"), {"key": key})


async def prune_expired(conn: AsyncConnection, login_window_s: int) -> None:
    """Drop ended windows and failures that no longer count (neither counted nor locked)."""
    await conn.execute(text("DELETE FROM rate_counter WHERE window_end < now()"))
    await conn.execute(text("""
        DELETE FROM login_failure WHERE last_failure_at < now() - make_interval(secs => :window_s)
          AND (locked_until IS NULL OR locked_until < now())
    """), {"window_s": login_window_s})
