"""Benchmark of the ingest service (issue 3 "Speed"); not a test.

    /tmp/setup/venv/bin/python bench/ingest.py [--seconds 5] [--workers 2]

Starts Kafka and PostgreSQL under .run/bench (own ports), the ingest service as a
separate process (``ingest.app.run``), and drives it over loopback from another process.
Prints the raw aiokafka producer's events/s, ingest events/s at batches of 1, 100 and
1,000, single-event p50/p99 at 2,000 requests/s, and a JSON summary as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

import orjson

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BENCH_ENV = {
    "METERLINE_ENVIRONMENT": "test",
    "METERLINE_RUN_DIR": os.path.join(ROOT, ".run", "bench"),
    "METERLINE_KAFKA__PORT": "39092",
    "METERLINE_KAFKA__CONTROLLER_PORT": "39093",
    "METERLINE_INGEST__PORT": "38080",
    "METERLINE_INGEST__RATE_LIMIT_EVENTS_PER_S": "1000000000",
    "METERLINE_INGEST__RATE_LIMIT_BURST": "1000000000",
}


def events(n: int, prefix: str) -> list[dict]:
    return [{"specversion": "1.0", "id": f"{prefix}-{i}", "source": "bench", "type": "api_call",
             "subject": f"customer-{i % 50}", "data": {"tokens": i % 1000, "model": "m1"}} for i in range(n)]


async def raw_producer_eps(bootstrap: str, topic: str, n: int) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                compression_type="lz4", linger_ms=5, max_batch_size=1024 * 1024)
    await producer.start()
    payloads = [(f"t:{e['subject']}".encode(), orjson.dumps(e)) for e in events(n, uuid.uuid4().hex)]
    started = time.perf_counter()
    futures = [await producer.send(topic, value, key=key) for key, value in payloads]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await producer.stop()
    return n / elapsed


# --- the driver: runs in its own process ---------------------------------------------

async def _drive_throughput(url: str, key: str, batch: int, seconds: float, concurrency: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    bodies = [orjson.dumps(events(batch, uuid.uuid4().hex)) for _ in range(8)]
    accepted = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30,
                                 headers={"Authorization": f"Bearer {key}",
                                          "Content-Type": "application/json"}) as client:
        async def worker(w: int) -> None:
            nonlocal accepted
            i = w
            while time.perf_counter() < deadline:
                response = await client.post("/v1/events", content=bodies[i % len(bodies)])
                i += 1
                if response.status_code == 202:
                    accepted += batch
        started = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return accepted / (time.perf_counter() - started)


async def _drive_latency(url: str, key: str, rps: int, seconds: float) -> tuple[float, float, int]:
    import httpx

    latencies: list[float] = []
    body = orjson.dumps(events(1, uuid.uuid4().hex)[0])
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=256),
                                 headers={"Authorization": f"Bearer {key}",
                                          "Content-Type": "application/json"}) as client:
        async def one() -> None:
            t = time.perf_counter()
            response = await client.post("/v1/events", content=body)
            if response.status_code == 202:
                latencies.append(time.perf_counter() - t)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rps * seconds)):  # open loop: requests leave on schedule
            delay = start + i / rps - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return pick(0.50), pick(0.99), len(latencies)


def driver_main(url: str, key: str, seconds: float) -> None:
    result = {"eps": {}}
    for batch, concurrency in [(1, 64), (100, 32), (1000, 8)]:
        result["eps"][str(batch)] = asyncio.run(_drive_throughput(url, key, batch, seconds, concurrency))
    p50, p99, n = asyncio.run(_drive_latency(url, key, 2000, seconds))
    result.update(p50=p50, p99=p99, n=n)
    print(json.dumps(result))


# --- orchestration ------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--driver", nargs=2, metavar=("URL", "KEY"))
    args = parser.parse_args()
    if args.driver:
        driver_main(args.driver[0], args.driver[1], args.seconds)
        return
    for name, value in BENCH_ENV.items():
        os.environ.setdefault(name, value)
    from infra import infra_up
    from meterline.bootstrap import migrate, pg_engine
    from meterline.settings import Settings
    from warehouse.postgres.api_keys import create_api_key
    from warehouse.postgres.tenants import insert_tenant

    settings = Settings()
    infra_up(settings, only={"kafka", "postgres"})
    migrate(settings)

    async def make_key() -> str:
        engine = pg_engine(settings)
        slug = "bench" + uuid.uuid4().hex[:8]
        async with engine.begin() as conn:
            tenant, _ = await insert_tenant(conn, slug=slug, name=slug, owner_email=f"{slug}@example.com",
                                            owner_password_hash="x")
            _, key = await create_api_key(conn, tenant.id, "bench")
        await engine.dispose()
        return key

    key = asyncio.run(make_key())
    raw = asyncio.run(raw_producer_eps(settings.kafka_bootstrap, settings.kafka.events_topic, 100_000))
    print(f"raw aiokafka producer, one record per event, acks=all: {raw:,.0f} events/s")

    env = {**os.environ, "METERLINE_INGEST__WORKERS": str(args.workers)}
    server = subprocess.Popen([sys.executable, "-c", "from ingest.app import run; from meterline.settings "
                               "import Settings; run(Settings())"], env=env, cwd=ROOT)
    url = f"http://{settings.ingest.host}:{settings.ingest.port}"
    try:
        import httpx

        for _ in range(100):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        out = subprocess.run([sys.executable, __file__, "--seconds", str(args.seconds), "--driver", url, key],
                             capture_output=True, text=True, cwd=ROOT, check=True).stdout
        driven = json.loads(out.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=20)
    ratio = {b: eps / raw for b, eps in driven["eps"].items()}
    for batch, eps in driven["eps"].items():
        print(f"ingest, batches of {batch:>4}: {eps:,.0f} events/s ({ratio[batch]:.2f} of raw)")
    print(f"single-event requests at 2,000/s: p50 {driven['p50']:.1f} ms, p99 {driven['p99']:.1f} ms "
          f"({driven['n']} accepted)")
    print(json.dumps({"raw_producer_eps": {b: raw for b in driven["eps"]}, "ingest_eps": driven["eps"],
                      "ratio": ratio, "single_p50_ms": driven["p50"], "single_p99_ms": driven["p99"]}))


if __name__ == "__main__":
    main()
