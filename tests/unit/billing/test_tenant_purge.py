"""The purge job's order (billing_jobs.tenant_purge) on fakes of its ports: the Stripe customer
and the analytics rows go before the database purge, nothing happens to a tenant not due, and a purge
cancelled between the two steps leaves the database alone."""

from __future__ import annotations

from datetime import datetime, timezone

from billing_jobs.tenant_purge import PurgeOutcome, PurgeTarget, purge_due_tenants, purge_tenant

NOW = datetime(2026, 12, 13, tzinfo=timezone.utc)


class FakeStore:
    def __init__(self, due: dict[str, PurgeTarget], still_due: bool = True) -> None:
        self.due, self.still_due, self.calls = due, still_due, []

    def due_for_purge(self, now):
        return list(self.due)

    def purge_target(self, tenant_id, now):
        return self.due.get(tenant_id)

    def purge(self, target, now):
        self.calls.append(("purge", target.tenant_id))
        return 2 if self.still_due else None


class FakeCustomers:
    def __init__(self, log: list) -> None:
        self.log = log

    def delete_customer(self, customer_id):
        self.log.append(("delete_customer", customer_id))

    def erase_tenant(self, tenant_id):  # the analytics store's port, logged in the same order
        self.log.append(("erase", tenant_id))


def ports(store: FakeStore) -> dict:
    fake = FakeCustomers(store.calls)
    return {"store": store, "customers": fake, "analytics": fake}


def test_the_customer_goes_first_then_the_database():
    store = FakeStore({"t1": PurgeTarget("t1", "acme", "cus_1"), "t2": PurgeTarget("t2", "beta", None)})
    outcomes = purge_due_tenants(**ports(store), now=NOW)
    assert store.calls == [("delete_customer", "cus_1"), ("erase", "t1"), ("purge", "t1"), ("erase", "t2"),
                           ("purge", "t2")]
    assert outcomes == [PurgeOutcome("t1", "acme", 2, "cus_1"), PurgeOutcome("t2", "beta", 2, None)]


def test_a_tenant_not_due_is_left_alone():
    store = FakeStore({})
    assert purge_tenant(**ports(store), tenant_id="t1", now=NOW) is None
    assert store.calls == []


def test_a_purge_no_longer_due_in_its_transaction_reports_nothing():
    store = FakeStore({"t1": PurgeTarget("t1", "acme", "cus_1")}, still_due=False)
    assert purge_tenant(**ports(store), tenant_id="t1", now=NOW) is None
