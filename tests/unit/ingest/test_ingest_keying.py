"""Record keys (issue 16): by tenant, so one stream worker owns a tenant's windows; a
tenant with a shard count spreads its subjects over that many keys, each subject's
events staying on one key."""

from __future__ import annotations

import orjson

from ingest.packing import PER_SUBJECT, group_by_partition, pack_events, shard_key


def partition_by_key(key: bytes) -> int:
    return {b"t1": 0, b"t1/0": 0, b"t1/1": 1, b"t1/2": 2}[key]


def test_a_tenant_is_one_key_and_one_record_in_request_order():
    payloads = [orjson.dumps({"id": str(i)}) for i in range(5)]
    groups = group_by_partition("t1", ["a", "b", "c", "a", "d"], payloads, partition_by_key, shards=1)
    assert groups == [(0, b"t1", payloads)]


def test_a_sharded_tenant_keeps_each_subject_on_one_key():
    subjects = [f"s{i}" for i in range(40)] * 2
    payloads = [orjson.dumps({"id": str(i), "subject": s}) for i, s in enumerate(subjects)]
    records = pack_events("t1", "x", subjects, payloads, max_events=500, max_bytes=1 << 20,
                          partition_of=partition_by_key, shards=3)
    assert {r.key for r in records} == {b"t1/0", b"t1/1", b"t1/2"}
    where = {}
    for r in records:
        assert partition_by_key(r.key) == r.partition
        for e in orjson.loads(r.value)["events"]:
            assert where.setdefault(e["subject"], r.key) == r.key
            assert shard_key("t1", e["subject"], 3) == r.key
    assert sum(r.events for r in records) == 80


def test_per_subject_keys_as_before():
    assert shard_key("t1", "s-1", PER_SUBJECT) == b"t1:s-1"
    assert shard_key("t1", "s-1", 1) == b"t1"
