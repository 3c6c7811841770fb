"""Benchmark of the ingest service (issue 3 "Speed"); not a test.

    make bench-ingest    # or: .venv/bin/python bench/ingest.py [--seconds 5] [--workers 2] [--profile DIR]

Starts Kafka and PostgreSQL under .run/bench (own ports, overridable through the usual
METERLINE_* variables), the ingest service as a separate process (``ingest.app.run``),
and drives it over loopback with a Go program (``bench/ingest_driver``, built here with
``go build``): closed-loop throughput at batches of 1, 100 and 1,000 events, then an
open-loop 2,000 single-event requests/s timed from each request's scheduled send.
Prints the raw aiokafka producer's events/s, ingest events/s and their ratio, single-event
p50/p99, and a JSON summary as the last line. ``--profile`` samples every server process
with py-spy during the single-event phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
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


# --- the driver: a Go program (bench/ingest_driver), built into the run directory --------

DRIVER_SRC = os.path.join(ROOT, "bench", "ingest_driver")
THROUGHPUT_PHASES = [(1, 64), (100, 64), (1000, 8)]  # (events per request, connections)
SINGLE_RPS = 2000


def build_driver(run_dir: str) -> str:
    """``go build`` the driver (standard library only, so no network); cached by Go afterwards."""
    os.makedirs(run_dir, exist_ok=True)
    binary = os.path.join(run_dir, "ingest_driver")
    subprocess.run(["go", "build", "-buildvcs=false", "-o", binary, "."], cwd=DRIVER_SRC, check=True)
    return binary


def drive(binary: str, url: str, key: str, *args: str) -> dict:
    out = subprocess.run([binary, "-url", url + "/v1/events", "-key", key, *args],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- orchestration ------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=None,
                        help="server processes (default: METERLINE_INGEST__WORKERS or 2)")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy every server process during each phase, into DIR")
    parser.add_argument("--phases", default="1,100,1000,single",
                        help="comma-separated subset of 1,100,1000 (closed-loop batch sizes) and single")
    parser.add_argument("--rps", type=int, default=SINGLE_RPS, help="offered single-event requests/s")
    args = parser.parse_args()
    for name, value in BENCH_ENV.items():
        os.environ.setdefault(name, value)
    from infra import infra_up
    from meterline.bootstrap import migrate, pg_engine
    from meterline.settings import Settings
    from warehouse.postgres.api_keys import create_api_key
    from warehouse.postgres.tenants import insert_tenant

    settings = Settings()
    driver = build_driver(str(settings.run_dir))
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
    print(f"raw aiokafka producer, one record per event, acks=all: {raw:,.0f} events/s", flush=True)

    workers = args.workers or int(os.environ.get("METERLINE_INGEST__WORKERS", "2"))
    env = {**os.environ, "METERLINE_INGEST__WORKERS": str(workers)}
    server = subprocess.Popen([sys.executable, "-c", "from meterline.bootstrap import serve_ingest; "
                               "from meterline.settings import Settings; serve_ingest(Settings())"], env=env, cwd=ROOT)
    url = f"http://{settings.ingest.host}:{settings.ingest.port}"
    seconds = str(args.seconds)
    try:
        _wait_ready(url)
        eps, statuses = {}, {}
        profile = (lambda phase: _start_profiler(server.pid, args.profile, phase, args.seconds)) \
            if args.profile else (lambda phase: [])
        cpu = _CpuMeter(server.pid, os.path.join(str(settings.run_dir), "kafka", "kafka.pid"))
        phases = args.phases.split(",")
        for batch, conns in [(b, c) for b, c in THROUGHPUT_PHASES if str(b) in phases]:
            profiler, cpu_before = profile(f"batch{batch}"), cpu.sample()
            result = drive(driver, url, key, "-mode", "throughput", "-batch", str(batch), "-conns", str(conns),
                           "-seconds", seconds)
            eps[str(batch)], statuses[str(batch)] = result["events_per_s"], result["statuses"]
            used = cpu.since(cpu_before, result["events_per_s"] * result["seconds"])
            print(f"  batches of {batch}: CPU used: {used}", flush=True)
            _wait_all(profiler)
        single = None
        if "single" in phases:
            profiler, cpu_before = profile("single"), cpu.sample()
            single = drive(driver, url, key, "-mode", "rate", "-rps", str(args.rps), "-seconds", seconds)
            print(f"  single events: CPU used: {cpu.since(cpu_before, single['accepted_with_warmup'])}",
                  flush=True)
            _wait_all(profiler)
    finally:
        server.terminate()
        server.wait(timeout=20)
    ratio = {b: e / raw for b, e in eps.items()}
    for batch, e in eps.items():
        print(f"ingest, batches of {batch:>4}: {e:,.0f} events/s ({ratio[batch]:.2f} of raw); "
              f"answers {statuses[batch]}")
    if single is not None:
        print(f"single-event requests offered at {args.rps:,}/s (sent {single['sent_rps']:,.0f}/s, "
              f"send lag up to {single['max_send_lag_ms']} ms): p50 {single['p50_ms']:.1f} ms, "
              f"p90 {single['p90_ms']:.1f} ms, p99 {single['p99_ms']:.1f} ms, max {single['max_ms']:.1f} ms; "
              f"{single['requests']} requests, {single['failed']} not 202: {single['statuses']}")
    print(json.dumps({"raw_producer_eps": {b: round(raw) for b in eps},
                      "ingest_eps": {b: round(e) for b, e in eps.items()},
                      "ratio": {b: round(r, 3) for b, r in ratio.items()},
                      "single_p50_ms": single and single["p50_ms"], "single_p99_ms": single and single["p99_ms"]}))


class _CpuMeter:
    """CPU seconds of the ingest server (all its processes), the broker, and the whole machine.

    The machine is shared: when ``machine`` is far above ``ingest + kafka + driver``, other
    work competed for the 2 cores and the figures of that phase are skewed.
    """

    def __init__(self, server_pid: int, kafka_pid_file: str):
        import psutil

        self._server = psutil.Process(server_pid)
        with open(kafka_pid_file) as f:
            self._kafka = psutil.Process(int(f.read().strip()))

    def _tree(self, process) -> float:
        total = 0.0
        for p in [process, *process.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except Exception:  # noqa: BLE001 - a process that just exited used no more CPU
                pass
        return total

    def sample(self) -> dict[str, float]:
        import psutil

        machine = psutil.cpu_times()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the driver, once waited for
        return {"ingest": self._tree(self._server), "kafka": self._tree(self._kafka),
                "driver": children.ru_utime + children.ru_stime,
                "machine": sum(machine) - machine.idle - machine.iowait, "wall": time.perf_counter()}

    def since(self, before: dict[str, float], events: float) -> str:
        now = self.sample()
        seconds = now["wall"] - before["wall"]
        used = {k: (now[k] - before[k]) / seconds for k in now if k != "wall"}
        return ", ".join(f"{k} {v:.2f}" for k, v in used.items()) + f" of 2 cores over {seconds:.1f} s; " \
            f"{events / (used['ingest'] * seconds):,.0f} events per ingest CPU-second"


def _wait_ready(url: str) -> None:
    import httpx

    for _ in range(150):
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the ingest service at {url} did not become ready")


def _start_profiler(server_pid: int, out_dir: str, phase: str, seconds: float) -> list[subprocess.Popen]:
    """py-spy record (collapsed stacks) of every server process: uvicorn's workers are its children."""
    os.makedirs(out_dir, exist_ok=True)
    spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    children = subprocess.run(["pgrep", "-P", str(server_pid)], capture_output=True, text=True).stdout.split()
    return [subprocess.Popen([spy, "record", "--pid", pid, "--duration", str(max(1, int(seconds))), "--rate", "200",
                              "--format", "raw", "--nonblocking",
                              "--output", os.path.join(out_dir, f"{phase}-{pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in children or [str(server_pid)]]


def _wait_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.wait(timeout=120)


if __name__ == "__main__":
    main()
