"""A tenant's invoice for a period, rated from what was read for it. Pure.

The one rating path of an invoice: the invoice run composes the draft it issues with
these functions (invoice_run, invoice_service), and the admin API's preview of the
open period composes its answer with the same ones, from the same reads
(ports.TenantPeriod), so that a preview is what the invoice will be if nothing more
arrives.

1. `period_segments`: the subscriptions clipped to the period, each with the usage of
   its hours; a priced meter billing cannot combine raises UnbillableMeterError;
2. `compose_period_invoice`: each segment's flat fee and usage lines, then the late
   usage of earlier invoices (corrections, restatements), and which corrections the
   draft bills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from .corrections import (
    AppliedCorrection, CorrectedPeriod, PendingCorrection, applied_corrections, correction_lines, restatement_lines,
)
from .invoicing import InvoiceDraft, compose_segmented_invoice
from .ports import TenantPeriod
from .segments import SubscriptionSegment, SubscriptionSpan, plan_segments, with_usage
from .usage_totals import UnbillableMeterError, priced_meters, unbillable_meters

__all__ = ["period_segments", "compose_period_invoice", "rate_period"]


def period_segments(spans: Sequence[SubscriptionSpan], period: TenantPeriod, period_start: date,
                    period_end: date) -> list[SubscriptionSegment]:
    """The plans in force in [period_start, period_end), each with its usage; [] if none was."""
    segments = plan_segments(spans, period_start, period_end)
    # A priced UNIQUE_COUNT meter fails this tenant (and only it) for good, even in a
    # period without rows, rather than billing a wrong number.
    unbillable = unbillable_meters(priced_meters([s.plan for s in segments]), period.meter_aggregations)
    if unbillable:
        raise UnbillableMeterError(unbillable[0])
    return with_usage(segments, period.hours)


def compose_period_invoice(*, tenant_id: str, tenant_slug: str, segments: Sequence[SubscriptionSegment],
                           period_start: date, period_end: date, corrections: Sequence[PendingCorrection] = (),
                           corrected_periods: Mapping[str, CorrectedPeriod] | None = None,
                           ) -> tuple[InvoiceDraft, tuple[AppliedCorrection, ...]]:
    """The period's draft and the corrections it bills (to be marked applied with it)."""
    extra: list = []
    restated: dict[int, int] = {}  # restatement id -> the amount this invoice bills for it
    if corrections and segments:
        currency = segments[0].plan.currency
        extra = correction_lines(corrections, corrected_periods or {}, currency)
        restatements, restated = restatement_lines(corrections, corrected_periods or {}, currency)
        extra += restatements
    draft = compose_segmented_invoice(tenant_slug=tenant_slug, tenant_id=tenant_id, segments=segments,
                                      period_start=period_start, period_end=period_end, extra_lines=extra)
    applied = tuple(applied_corrections(corrections, restated)) if corrections and segments else ()
    return draft, applied


def rate_period(spans: Sequence[SubscriptionSpan], period: TenantPeriod, period_start: date,
                period_end: date) -> InvoiceDraft | None:
    """The invoice the period's reads give now (None: no subscription in force in it)."""
    segments = period_segments(spans, period, period_start, period_end)
    if not segments:
        return None
    draft, _ = compose_period_invoice(
        tenant_id=period.tenant.tenant_id, tenant_slug=period.tenant.slug, segments=segments,
        period_start=period_start, period_end=period_end, corrections=period.corrections,
        corrected_periods=period.corrected_periods)
    return draft
