"""Limit alerts: what they say, how webhooks are signed, the check and the delivery over fakes of their ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from billing_jobs.alert_messages import limit_alert_notifications
from billing_jobs.errors import PermanentError, RetryableError
from billing_jobs.limits import LimitAlert
from billing_jobs.limits_service import check_tenant_limits, usage_window
from billing_jobs.notify_service import deliver_pending
from billing_jobs.plans import Plan
from billing_jobs.ports import LimitSubject, PendingNotification
from billing_jobs.webhook_signing import signature_header, verify

D = Decimal
NOW = datetime(2026, 10, 20, 12, 30, tzinfo=timezone.utc)
PLAN = Plan.model_validate({"slug": "p", "name": "P", "currency": "USD", "limits": [
    {"meter_slug": "api", "quantity": "100", "kind": "soft"},
    {"meter_slug": "api", "quantity": "200", "kind": "hard"}]})


@pytest.mark.parametrize(("secret", "body", "now", "expected"), [
    ("s3cret", b'{"a":1}', 1_000, True),
    ("other", b'{"a":1}', 1_000, False),
    ("s3cret", b'{"a":2}', 1_000, False),
    ("s3cret", b'{"a":1}', 1_000 + 301, False),
], ids=["good", "wrong-secret", "tampered-body", "stale"])
def test_webhook_signature(secret, body, now, expected):
    header = signature_header("s3cret", 1_000, b'{"a":1}')
    assert verify(secret, header, body, now) is expected


@pytest.mark.parametrize("header", ["", "v1=abc", "t=x,v1=abc", "t=1000"], ids=["empty", "no-t", "bad-t", "no-v1"])
def test_malformed_signature_headers_fail(header):
    assert verify("s3cret", header, b"{}", 1_000) is False


def test_messages_have_stable_ids_and_no_floats():
    alert = LimitAlert("api", "hard", 100, D("200.5"), D(200))
    kwargs = dict(tenant_id="t1", tenant_slug="acme", alert=alert, period_start=date(2026, 10, 1),
                  period_end=date(2026, 11, 1), email="b@acme.test", now=NOW)
    email_only = limit_alert_notifications(webhook_url=None, **kwargs)
    both = limit_alert_notifications(webhook_url="https://acme.test/hook", **kwargs)
    assert [m.channel for m in email_only] == ["email"]
    assert [m.channel for m in both] == ["email", "webhook"]
    assert both[0].dedup_key == email_only[0].dedup_key == "limit:t1:2026-10:api:hard:100:email"
    assert both[1].body["id"] == "limit:t1:2026-10:api:hard:100:webhook"
    assert both[1].body["quantity"] == "200.5" and both[1].body["blocked"] is True
    assert "refused until 2026-11-01" in both[0].subject
    assert not any(isinstance(v, float) for v in both[1].body.values())


@pytest.mark.parametrize(("started_at", "since"), [
    (datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 10, 1, tzinfo=timezone.utc)),
    (datetime(2026, 10, 11, 6, 10, tzinfo=timezone.utc), datetime(2026, 10, 11, 6, tzinfo=timezone.utc)),
], ids=["before-period", "plan-change-mid-period"])
def test_usage_window(started_at, since):
    assert usage_window(started_at, NOW) == (date(2026, 10, 1), date(2026, 11, 1), since,
                                             datetime(2026, 11, 1, tzinfo=timezone.utc))


@dataclass
class FakeLimitStore:
    usage_by_meter: dict
    recorded: set = field(default_factory=set)
    records: list = field(default_factory=list)

    def usage(self, tenant_id, start, end):
        return self.usage_by_meter

    def recorded_alerts(self, tenant_id, period_start):
        return set(self.recorded)

    def targets(self, tenant_id):
        return "b@acme.test", "https://acme.test/hook"

    def record(self, tenant_id, period_start, period_end, plan_slug, alerts, notifications, blocked):
        new = [a for a in alerts if (a.meter_slug, a.kind, a.threshold_percent) not in self.recorded]
        self.recorded |= {(a.meter_slug, a.kind, a.threshold_percent) for a in new}
        self.records.append((plan_slug, [m.dedup_key for a in new for m in notifications[a]], blocked))
        return new


def test_check_records_alerts_with_their_messages_once():
    store = FakeLimitStore({"api": D(205)})
    subject = LimitSubject("t1", "acme", PLAN, datetime(2026, 1, 1, tzinfo=timezone.utc))
    first = check_tenant_limits(store=store, subject=subject, now=NOW)
    assert [(a.kind, a.threshold_percent) for a in first.new_alerts] == [
        ("soft", 80), ("soft", 100), ("hard", 80), ("hard", 100)]
    assert first.blocked == ["api"]
    assert len(store.records[0][1]) == 8  # an email and a webhook per alert
    again = check_tenant_limits(store=store, subject=subject, now=NOW)
    assert again.new_alerts == [] and again.blocked == ["api"]


def test_a_plan_without_limits_reads_nothing():
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"store.{name} called")

    plan = Plan.model_validate({"slug": "free", "name": "Free", "currency": "USD"})
    result = check_tenant_limits(store=Untouchable(), subject=LimitSubject("t", "t", plan, NOW), now=NOW)
    assert (result.new_alerts, result.blocked) == ([], [])


@dataclass
class FakeOutbox:
    rows: list
    sent: list = field(default_factory=list)
    failed: list = field(default_factory=list)

    def pending(self, channels, max_attempts, limit):
        return [r for r in self.rows if r.channel in channels]

    def mark_sent(self, notification_id, now):
        self.sent.append(notification_id)

    def mark_failed(self, notification_id, error):
        self.failed.append((notification_id, error))


def _row(id_, channel, recipient, secret=None):
    return PendingNotification(id_, "t1", channel, recipient, "subject", {"id": f"m-{id_}"}, secret, 0)


class Sender:
    def __init__(self, error=None):
        self.calls, self.error = [], error

    def send(self, *args):
        self.calls.append(args)
        if self.error:
            raise self.error


@pytest.mark.parametrize(("mailer", "webhook_error", "sent", "failed"), [
    (None, None, ["w1"], []),
    ("mailer", None, ["e1", "w1"], []),
    (None, RetryableError("503"), [], ["w1"]),
    (None, PermanentError("410"), [], ["w1"]),
], ids=["no-smtp-emails-stay", "smtp", "webhook-down", "webhook-refuses"])
def test_delivery(mailer, webhook_error, sent, failed):
    outbox = FakeOutbox([_row("e1", "email", "b@acme.test"), _row("e2", "email", None),
                         _row("w1", "webhook", "https://acme.test/hook", "sec")])
    webhooks = Sender(webhook_error)
    mail = Sender() if mailer else None
    report = deliver_pending(store=outbox, webhooks=webhooks, mailer=mail, now=NOW)
    assert (sorted(report.sent), [f for f, _ in outbox.failed]) == (sent, failed)
    assert webhooks.calls[0][:3] == ("https://acme.test/hook", "sec", "m-w1")
    if mail:
        assert [c[0] for c in mail.calls] == ["b@acme.test"]  # e2 has no address: it stays in the outbox
