"""aggregate() on synthetic events, this checkout against another revision, interleaved; not a test.

    .venv/bin/python bench/aggregate.py [--events 200000] [--runs 21] [--against main]

The stream's per-event work is aggregate() (metering/aggregate.py); this times it alone,
without Kafka or the stores. `--against` names a git revision whose aggregation module
(metering/ or, before issue 12, stream/aggregation.py) is loaded beside this checkout's;
both run over the same events and meters, alternately, and must agree. CPU time of the
process (time.process_time), so other processes on a shared machine disturb it less.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = [("COUNT", None), ("SUM", "tokens"), ("MAX", "tokens"), ("LATEST", "tokens")]


def _load_revision(revision: str, into: Path):
    """The revision's aggregation code as an importable module under `into`."""
    def show(path: str) -> str | None:
        done = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:{path}"], capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else None

    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", revision, "metering"],
                           capture_output=True, text=True).stdout.split()
    if names:
        for name in names:
            target = into / "old_metering" / Path(name).relative_to("metering")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(show(name))
        sys.path.insert(0, str(into))
        return importlib.import_module("old_metering")
    (into / "old_aggregation.py").write_text(show("stream/aggregation.py"))  # self-contained before issue 12
    sys.path.insert(0, str(into))
    return importlib.import_module("old_aggregation")


def _workload(module, events: int, tenants: int, meters_per_tenant: int):
    rng = random.Random(7)
    tenant_ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(tenants)]
    meters = [module.Meter(t, f"m{i}", f"type.{i % 4}", *KINDS[i % 4],
                           group_by=("region",) if i % 8 == 1 else ())
              for t in tenant_ids for i in range(meters_per_tenant)]
    base = datetime(2026, 12, 1, tzinfo=timezone.utc)
    batch = [module.UsageEvent(tenant_ids[(n // 500) % tenants], f"e{n}", f"type.{n % 4}", "s",
                               base + timedelta(seconds=n % 7200), {"tokens": n % 1000, "region": "eu" if n % 3 else "us"})
             for n in range(events)]
    return batch, meters


def _summary(deltas) -> dict:
    return {(str(k.tenant_id), k.meter_slug, k.window_start, k.group_key, k.resolution): (d.quantity, d.event_count)
            for k, d in deltas.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--meters", type=int, default=8, help="per tenant; event types are shared by two")
    parser.add_argument("--against", default="main")
    args = parser.parse_args()

    import metering as new
    with tempfile.TemporaryDirectory() as tmp:
        old = _load_revision(args.against, Path(tmp))
        work = {name: _workload(module, args.events, args.tenants, args.meters)
                for name, module in (("old", old), ("new", new))}
        assert _summary(old.aggregate(*work["old"]).deltas) == _summary(new.aggregate(*work["new"]).deltas), \
            "the two revisions disagree"
        times: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(args.runs):
            for name, module in (("old", old), ("new", new)):
                started = time.process_time()
                module.aggregate(*work[name])
                times[name].append(time.process_time() - started)
    median = {name: sorted(t)[len(t) // 2] for name, t in times.items()}
    print(f"aggregate() on {args.events} events, {args.runs} interleaved runs: "
          f"{args.against} median {median['old'] * 1000:.0f} ms, this checkout {median['new'] * 1000:.0f} ms")
    print(json.dumps({"events": args.events, "runs": args.runs, "against": args.against,
                      "against_median_s": round(median["old"], 4), "median_s": round(median["new"], 4),
                      "against_min_s": round(min(times["old"]), 4), "min_s": round(min(times["new"]), 4),
                      "ratio": round(median["new"] / median["old"], 3)}))


if __name__ == "__main__":
    main()
