"""The per-event cost of the dedup record's content digest (stream.events.content_digest),
beside decoding and aggregating the same events: the digest is the only per-event work
issue 11 added to the stream's clean path.

Run: .venv/bin/python bench/digest.py [--events 2000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import sys
import timeit
import uuid
from pathlib import Path

import orjson

# The checkout first: bench/stream.py would shadow the stream package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from metering import Meter, aggregate  # noqa: E402
from stream.events import content_digest, decode_pack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    tenant = uuid.uuid4()
    value = orjson.dumps({"tenant_id": str(tenant), "received_at": "", "events": [
        {"id": f"ev-{i}", "type": "llm.tokens", "subject": f"customer-{i % 50}", "source": "api-gw",
         "time": "2026-12-01T10:00:00Z", "data": {"usage": {"tokens": i * 1.5}, "model": "m", "region": "eu-west-1"}}
        for i in range(args.events)]})
    events = decode_pack(value).events
    meters = [Meter(tenant, "tokens", "llm.tokens", "SUM", "usage.tokens"), Meter(tenant, "calls", "llm.tokens", "COUNT")]
    for name, work in (("decode_pack", lambda: decode_pack(value)),
                       ("aggregate (2 meters)", lambda: aggregate(events, meters)),
                       ("content_digest", lambda: [content_digest(e) for e in events])):
        best = min(timeit.repeat(work, number=20, repeat=args.repeat)) / 20 / len(events)
        print(f"{name:24} {best * 1e6:6.2f} us/event")


if __name__ == "__main__":
    main()
