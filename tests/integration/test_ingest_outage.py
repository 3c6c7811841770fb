"""Issue 3 "Durability": stop Kafka in the middle of a stream of requests and start it again.

The test runs its own broker (run directory ``.run/test-outage``, free ports) so that
stopping it disturbs no one else's tests. Clients keep sending batches with unique ids
and retry each 503/429 with the same ids; at the end, every event that got a 202 must be
in the topic, and the process's memory must have stayed bounded while the broker was away.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import uuid

import httpx
import orjson
import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from asgi_lifespan import LifespanManager

from infra import infra_up
from infra.kafka import kafka_process
from meterline.bootstrap import ingest_app
from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from warehouse.postgres.api_keys import create_api_key
from warehouse.postgres.tenants import insert_tenant

pytestmark = pytest.mark.integration

BATCH = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def outage_broker(stack: Settings):
    run_dir = stack.run_dir / "outage"  # inside .run/test, with the rest of the test data
    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh broker (and fresh ports) every session
    (run_dir / "kafka").mkdir(parents=True)
    shared_libs = stack.run_dir / "kafka" / "libs"
    if shared_libs.exists():  # reuse the resolved jars instead of running Maven again
        (run_dir / "kafka" / "libs").symlink_to(shared_libs)
    kafka = stack.kafka.model_copy(update={"bootstrap_servers": "", "port": _free_port(),
                                           "controller_port": _free_port(), "events_partitions": 3})
    infra_settings = stack.model_copy(update={"run_dir": run_dir, "kafka": kafka})
    infra_up(infra_settings, only={"kafka"}, report=lambda line: None)
    yield infra_settings
    kafka_process(infra_settings).stop()
    shutil.rmtree(run_dir, ignore_errors=True)


async def _topic_ids(settings: Settings, tenant_id: uuid.UUID) -> list[str]:
    topic = settings.kafka.events_topic
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    parts = [TopicPartition(topic, p) for p in await producer.partitions_for(topic)]
    await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        ids: list[str] = []
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    pack = orjson.loads(record.value)
                    if pack["tenant_id"] == str(tenant_id):
                        ids += [e["id"] for e in pack["events"]]
        return ids
    finally:
        await consumer.stop()


async def test_kafka_outage_loses_no_accepted_event(stack, outage_broker, unique_slug):
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        tenant, _ = await insert_tenant(conn, slug=unique_slug, name=unique_slug,
                                        owner_email=f"{unique_slug}@example.com", owner_password_hash="x")
        _, key = await create_api_key(conn, tenant.id, "outage")
    await engine.dispose()

    settings = stack.model_copy(update={
        "kafka": outage_broker.kafka,
        "ingest": stack.ingest.model_copy(update={
            "produce_timeout_s": 1.5, "producer_request_timeout_s": 5.0,
            "max_in_flight_bytes": 16 * 1024 * 1024}),
    })
    app = ingest_app(settings)
    process = psutil.Process()
    accepted: set[str] = set()
    statuses: dict[int, int] = {}
    retry_afters: set[str] = set()
    phase = {"name": "before"}
    rss: dict[str, int] = {"before": 0, "outage": 0}
    stop = asyncio.Event()
    last_errors: list[str] = []

    async with LifespanManager(app) as manager:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://ingest",
                                   headers={"Authorization": f"Bearer {key}"}, timeout=30)

        async def send_forever(worker: int) -> None:
            n = 0
            while not stop.is_set():
                ids = [f"w{worker}-{n}-{i}" for i in range(BATCH)]
                body = orjson.dumps([{"id": i, "source": "outage", "type": "call", "subject": f"c{j % 7}",
                                      "data": {"pad": "x" * 100}} for j, i in enumerate(ids)])
                n += 1
                while True:  # the client retries the same request until it is accepted
                    response = await client.post("/v1/events", content=body)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 202:
                        assert response.json()["accepted"] == BATCH
                        accepted.update(ids)
                        break
                    assert response.status_code in (503, 429), response.text
                    retry_afters.add(response.headers["Retry-After"])
                    if "the broker is unavailable" not in response.text:
                        last_errors[:] = [response.text]
                    await asyncio.sleep(0.05)  # a real client waits Retry-After; the test keeps up the pressure

        async def sample_memory() -> None:
            while not stop.is_set():
                rss[phase["name"]] = max(rss.get(phase["name"], 0), process.memory_info().rss)
                await asyncio.sleep(0.1)

        tasks = [asyncio.create_task(send_forever(w)) for w in range(4)] + [asyncio.create_task(sample_memory())]
        await asyncio.sleep(2.0)
        before_outage = len(accepted)
        assert before_outage > 0, (statuses, last_errors)

        phase["name"] = "outage"
        await asyncio.to_thread(kafka_process(outage_broker).stop)
        accepted_at_stop = len(accepted)
        await asyncio.sleep(4.0)
        refused_during_outage = statuses.get(503, 0)
        phase["name"] = "after"
        await asyncio.to_thread(infra_up, outage_broker, {"kafka"}, lambda line: None)
        # Let the clients get through again, then let each finish its current request.
        for _ in range(200):
            if len(accepted) > accepted_at_stop + 8 * BATCH:
                break
            await asyncio.sleep(0.1)
        stop.set()
        done, pending = await asyncio.wait(tasks, timeout=30)
        for task in pending:
            task.cancel()
        assert not pending, f"clients still refused after the broker came back: {last_errors} {statuses}"
        for task in done:
            task.result()
        await client.aclose()

    assert refused_during_outage > 0, statuses
    assert retry_afters <= {"1"}
    assert len(accepted) > accepted_at_stop, "no request was accepted after the broker came back"
    in_topic = await _topic_ids(outage_broker, tenant.id)
    missing = accepted - set(in_topic)
    assert not missing, f"{len(missing)} accepted events are not in the topic"
    # Bounded memory: the outage may not grow the process by more than the in-flight
    # budget plus interpreter slack.
    assert rss["outage"] - rss["before"] < 150 * 1024 * 1024, rss
