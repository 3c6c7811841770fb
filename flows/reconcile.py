"""`reconcile-usage`: per tenant and meter, the open and the last closed period's usage in
ClickHouse's raw events, its rollups and PostgreSQL's windows, compared (and with
`repair=true`, the differing windows rebuilt from raw events); stream/reconcile.py says how.

Each difference is a row of the run's table artifact (key `reconcile-usage-differences`,
the latest of which the admin API's /metrics turns into `meterline_reconcile_differences`)
and the run's markdown summary counts them per store. No peer reconciles automatically:
repairs run only when asked.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timezone

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from billing_jobs.invoicing import billing_period
from metering.reconcile import MeterReconciliation

__all__ = ["DIFFERENCES_ARTIFACT", "difference_rows", "reconcile_periods", "reconcile_usage"]

DIFFERENCES_ARTIFACT = "reconcile-usage-differences"
SUMMARY_ARTIFACT = "reconcile-usage-summary"


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def reconcile_periods(today: date) -> list[tuple[str, datetime, datetime]]:
    """The last closed billing period and the open one, as UTC instants."""
    open_start, open_end = billing_period(today)
    closed_start, _ = billing_period(date.fromordinal(open_start.toordinal() - 1))
    return [("closed", _instant(closed_start), _instant(open_start)),
            ("open", _instant(open_start), _instant(open_end))]


def difference_rows(results: list[MeterReconciliation], repaired: bool) -> list[dict]:
    """One row per window and store that differs from the raw events: what finance and
    SREs read in the artifact."""
    rows = []
    for result in results:
        for difference in result.differences:
            for store in difference.stores:
                held = difference.rollup if store == "rollup" else difference.postgres
                rows.append({
                    "tenant": result.tenant_id, "meter": result.meter_slug, "period": result.period,
                    "store": store, "resolution": difference.window.resolution,
                    "window_start": difference.window.window_start.isoformat(), "group": difference.window.group_key,
                    "raw_quantity": str(difference.reference.quantity),
                    "raw_events": difference.reference.event_count,
                    "store_quantity": str(held.quantity) if held else "absent",
                    "store_events": held.event_count if held else 0,
                    "repaired": repaired,
                })
    return rows


def _summary(rows: list[dict], results: list[MeterReconciliation], failures: dict[str, str], repair: bool) -> str:
    by_store = Counter((row["store"], row["period"]) for row in rows)
    lines = [f"# Usage reconciliation{' and repair' if repair else ''}", "",
             f"{len({r.tenant_id for r in results})} tenants, {len(results)} meter periods compared, "
             f"{len(rows)} differing windows{' rebuilt from raw events' if repair and rows else ''}.", "",
             "| store | period | differing windows |", "|---|---|---|"]
    lines += [f"| {store} | {period} | {count} |" for (store, period), count in sorted(by_store.items())]
    totals = [r for r in results if r.stores_differing]
    if totals:
        lines += ["", "Period totals that differ (quantity / events):", "",
                  "| tenant | meter | period | raw | rollup | postgres |", "|---|---|---|---|---|---|"]
        for r in totals:
            cells = [f"{t.quantity} / {t.event_count}" if (t := r.totals.get(s)) else "not compared"
                     for s in ("raw", "rollup", "postgres")]
            lines.append(f"| {r.tenant_id} | {r.meter_slug} | {r.period} | " + " | ".join(cells) + " |")
    if failures:
        lines += ["", "Tenants not reconciled:", ""] + [f"- {tenant}: {reason}" for tenant, reason in failures.items()]
    return "\n".join(lines)


@flow(name="reconcile-usage", log_prints=True)
async def reconcile_usage(tenants: list[str] | None = None, repair: bool = False) -> dict:
    """Compare every tenant's (or the given tenants') usage in the three stores for the
    open and the last closed period; `repair` rebuilds each differing window from raw
    events. One failing tenant does not stop the others; the run fails naming it."""
    from meterline.bootstrap import usage_reconciler

    logger = get_run_logger()
    periods = reconcile_periods(datetime.now(timezone.utc).date())
    reconciler = usage_reconciler()
    results: list[MeterReconciliation] = []
    failures: dict[str, str] = {}
    try:
        for tenant_id in tenants or await reconciler.tenant_ids():
            try:
                results += await reconciler.reconcile(tenant_id, periods, repair)
            except Exception as exc:  # noqa: BLE001 - this tenant's outcome; the run reports it
                logger.error("tenant %s not reconciled: %s", tenant_id, exc)
                failures[str(tenant_id)] = str(exc)[:500]
    finally:
        await reconciler.close()
    rows = difference_rows(results, repair)
    for row in rows:
        logger.warning("usage differs: %s", row)
    await create_table_artifact(key=DIFFERENCES_ARTIFACT, table=rows or [{"store": "", "differences": 0}],
                                description="Windows whose usage differs from the raw events'")
    await create_markdown_artifact(key=SUMMARY_ARTIFACT, markdown=_summary(rows, results, failures, repair),
                                   description="Usage reconciliation")
    if failures:
        raise RuntimeError(f"{len(failures)} tenants not reconciled: "
                           + "; ".join(f"{t}: {reason}" for t, reason in failures.items()))
    return {"differences": len(rows), "repaired": repair and bool(rows), "meter_periods": len(results)}
