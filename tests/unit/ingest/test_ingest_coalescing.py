"""RecordCoalescer with a fake of its one port (the producer's send/failed/delivered), no broker."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from ingest.coalescing import RecordCoalescer
from ingest.packing import group_by_partition
from ingest.producer import BrokerUnavailable


class FakeProducer:
    """Records what was sent; each record's acknowledgement is a future the test settles."""

    def __init__(self):
        self.sent: list[tuple[bytes, dict, int, asyncio.Future]] = []
        self.headers: list[list | None] = []
        self.failures: list[str] = []
        self.deliveries = 0

    async def send(self, key: bytes, value: bytes, partition: int, headers=None) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.headers.append(headers)
        self.sent.append((key, orjson.loads(value), partition, future))
        return future

    def failed(self, kind: str) -> None:
        self.failures.append(kind)

    def delivered(self) -> None:
        self.deliveries += 1


def partition_by_subject_number(key: bytes) -> int:
    return int(key.decode().rsplit("-", 1)[1]) % 2


def groups(tenant: str, subjects: list[str], ids: list[str]):
    payloads = [orjson.dumps({"id": i, "subject": s}) for i, s in zip(ids, subjects, strict=True)]
    return group_by_partition(tenant, subjects, payloads, partition_by_subject_number)


async def settle_loop():
    for _ in range(5):
        await asyncio.sleep(0)


async def test_concurrent_requests_share_a_record_and_each_waits_for_its_ack():
    producer = FakeProducer()
    coalescer = RecordCoalescer(producer, max_events=500, max_bytes=1 << 20, timeout_s=5)
    coalescer.start()
    settled = []
    a = coalescer.submit("t1", "2026-01-01T00:00:00Z", groups("t1", ["s-0"], ["a"]), lambda: settled.append("a"))
    b = coalescer.submit("t1", "2026-01-01T00:00:01Z", groups("t1", ["s-2"], ["b"]), lambda: settled.append("b"))
    await settle_loop()
    assert len(producer.sent) == 1
    key, pack, partition, ack = producer.sent[0]
    assert (key, partition) == (b"t1:s-0", 0)
    assert pack == {"tenant_id": "t1", "received_at": "2026-01-01T00:00:00Z",
                    "events": [{"id": "a", "subject": "s-0"}, {"id": "b", "subject": "s-2"}]}
    assert not a.done() and not b.done() and settled == []
    ack.set_result(None)
    await settle_loop()
    assert a.result() is None and b.result() is None
    assert sorted(settled) == ["a", "b"] and producer.deliveries == 1
    await coalescer.close()


async def test_tenants_and_partitions_get_their_own_records_in_request_order():
    producer = FakeProducer()
    coalescer = RecordCoalescer(producer, max_events=500, max_bytes=1 << 20, timeout_s=5)
    coalescer.start()
    first = coalescer.submit("t1", "x", groups("t1", ["s-0", "s-1", "s-0"], ["1", "2", "3"]), lambda: None)
    other = coalescer.submit("t2", "x", groups("t2", ["s-0"], ["4"]), lambda: None)
    await settle_loop()
    sent = [(p["tenant_id"], partition, [e["id"] for e in p["events"]]) for _, p, partition, _ in producer.sent]
    assert sent == [("t1", 0, ["1", "3"]), ("t1", 1, ["2"]), ("t2", 0, ["4"])]
    producer.sent[0][3].set_result(None)
    producer.sent[2][3].set_result(None)
    await settle_loop()
    assert other.done() and not first.done()  # first still waits for its partition-1 record
    producer.sent[1][3].set_result(None)
    await settle_loop()
    assert first.result() is None
    await coalescer.close()


async def test_full_records_split_at_max_events_in_order():
    producer = FakeProducer()
    coalescer = RecordCoalescer(producer, max_events=3, max_bytes=1 << 20, timeout_s=5)
    coalescer.start()
    futures = [coalescer.submit("t1", "x", groups("t1", ["s-0"] * 4, [f"{r}.{i}" for i in range(4)]), lambda: None)
               for r in range(2)]
    await settle_loop()
    assert [[e["id"] for e in p["events"]] for _, p, _, _ in producer.sent] == [
        ["0.0", "0.1", "0.2"], ["0.3", "1.0", "1.1"], ["1.2", "1.3"]]
    producer.sent[0][3].set_result(None)
    producer.sent[1][3].set_result(None)
    await settle_loop()
    assert futures[0].done() and not futures[1].done()
    producer.sent[2][3].set_result(None)
    await settle_loop()
    assert futures[1].done()
    await coalescer.close()


async def test_a_failed_record_fails_every_request_in_it_and_settles_each_once():
    producer = FakeProducer()
    coalescer = RecordCoalescer(producer, max_events=500, max_bytes=1 << 20, timeout_s=5)
    coalescer.start()
    settled = []
    futures = [coalescer.submit("t1", "x", groups("t1", ["s-0"], [str(i)]), lambda i=i: settled.append(i))
               for i in range(3)]
    await settle_loop()
    producer.sent[0][3].set_exception(RuntimeError("lost"))
    await settle_loop()
    for future in futures:
        with pytest.raises(BrokerUnavailable, match="RuntimeError: lost"):
            future.result()
    assert sorted(settled) == [0, 1, 2] and producer.failures == ["RuntimeError"]
    await coalescer.close()


async def test_an_unacknowledged_record_fails_its_requests_at_the_deadline_and_settles_later():
    producer = FakeProducer()
    coalescer = RecordCoalescer(producer, max_events=500, max_bytes=1 << 20, timeout_s=0.05)
    coalescer.start()
    settled = []
    future = coalescer.submit("t1", "x", groups("t1", ["s-0"], ["a"]), lambda: settled.append("a"))
    await asyncio.sleep(0.1)
    with pytest.raises(BrokerUnavailable, match="TimeoutError"):
        future.result()
    assert producer.failures == ["timeout"] and settled == []  # the producer still holds the record
    producer.sent[0][3].set_result(None)  # acknowledged after all: memory released, no 202 given
    await settle_loop()
    assert settled == ["a"]
    await coalescer.close()


async def test_a_refused_send_fails_the_requests_at_once():
    class Refusing(FakeProducer):
        async def send(self, key, value, partition, headers=None):
            raise BrokerUnavailable("the broker is unavailable")

    coalescer = RecordCoalescer(Refusing(), max_events=500, max_bytes=1 << 20, timeout_s=5)
    coalescer.start()
    settled = []
    future = coalescer.submit("t1", "x", groups("t1", ["s-0"], ["a"]), lambda: settled.append("a"))
    with pytest.raises(BrokerUnavailable):
        await asyncio.wait_for(future, 1)
    assert settled == ["a"]
    await coalescer.close()


async def test_a_send_stuck_on_a_full_batch_holds_the_packs_behind_it_only_until_its_deadline():
    class StuckOnT1(FakeProducer):
        async def send(self, key, value, partition, headers=None):
            if key.startswith(b"t1:"):
                await asyncio.Event().wait()  # a partition's batch that never drains
            return await super().send(key, value, partition)

    producer = StuckOnT1()
    coalescer = RecordCoalescer(producer, max_events=500, max_bytes=1 << 20, timeout_s=0.2)
    coalescer.start()
    stuck = coalescer.submit("t1", "x", groups("t1", ["s-0"], ["a"]), lambda: None)
    await asyncio.sleep(0.1)
    behind = coalescer.submit("t2", "x", groups("t2", ["s-0"], ["b"]), lambda: None)
    await asyncio.sleep(0.15)  # past the first pack's deadline, before the second's
    with pytest.raises(BrokerUnavailable, match="TimeoutError"):
        stuck.result()
    assert [p["tenant_id"] for _, p, _, _ in producer.sent] == ["t2"]
    producer.sent[0][3].set_result(None)
    await settle_loop()
    assert behind.result() is None
    await coalescer.close()


async def test_a_shared_record_carries_each_requests_trace_over_its_events():
    from meterline.tracing import TRACE_HEADER, Trace, decode_runs, event_traces

    producer = FakeProducer()
    coalescer = RecordCoalescer(producer, max_events=500, max_bytes=1 << 20, timeout_s=5)
    a = coalescer.submit("t1", "x", groups("t1", ["s-0", "s-0"], ["a1", "a2"]), lambda: None, Trace("ta", True))
    b = coalescer.submit("t1", "x", groups("t1", ["s-0"], ["b1"]), lambda: None, Trace("tb", False))
    coalescer.start()
    await settle_loop()
    (record,) = producer.sent
    (headers,) = producer.headers
    ((name, value),) = headers
    assert name == TRACE_HEADER
    events = [e["id"] for e in record[1]["events"]]
    assert dict(zip(events, event_traces(decode_runs(value), len(events)))) == {
        "a1": Trace("ta", True), "a2": Trace("ta", True), "b1": Trace("tb", False)}
    for _, _, _, future in producer.sent:
        future.set_result(None)
    await asyncio.gather(a, b)
    await coalescer.close()
