"""Usage for people, against real Kafka, PostgreSQL, the chDB host, the stream worker and the API.

Expected numbers are computed here from the events the test sent, with plain Python and
zoneinfo's local dates (not metering.zone_windows): day windows across DST changes of
America/New_York and Europe/Berlin (the next ones after today, so the events are within
the stream's dedup horizon whatever the date), Asia/Tokyo months, Asia/Kolkata days
(whole hours from rollups, the hours cut at :30 from raw events), all meters at once,
group-by plus subject, pagination, CSV, the watermark, the event view's fates and tenant
isolation.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from meterline.bootstrap import pg_engine
from warehouse.postgres.meters import list_meter_states

pytestmark = pytest.mark.integration

UTC = timezone.utc
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
# (slug, aggregation, value path, group_by); all count events of type "llm".
METERS = [("tokens", "SUM", "tokens", ["region"]), ("calls", "COUNT", None, ["model"]),
          ("users", "UNIQUE_COUNT", "user", [])]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _at(event: dict) -> datetime:
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00"))


def _transitions(zone: ZoneInfo) -> list[datetime]:
    """The next spring-forward and fall-back of `zone` after today, as UTC instants."""
    found, moment = {}, NOW.replace(minute=0)
    while len(found) < 2:
        after = moment + timedelta(hours=1)
        before_offset, after_offset = moment.astimezone(zone).utcoffset(), after.astimezone(zone).utcoffset()
        if before_offset != after_offset:
            found.setdefault("forward" if after_offset > before_offset else "back", after)
        moment = after
    return sorted(found.values())


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


async def _produce(settings, tenant_id: str, events: list[dict], per_record: int = 60) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sends = [await producer.send(settings.kafka.events_topic,
                                     value=orjson.dumps({"tenant_id": tenant_id, "received_at": _iso(NOW),
                                                         "events": events[i:i + per_record]}),
                                     key=f"{tenant_id}:{i % 3}".encode())
                 for i in range(0, len(events), per_record)]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def _register(api: httpx.AsyncClient, slug: str, meters) -> tuple[str, dict]:
    registered = await api.post("/v1/tenants", json={"slug": slug, "name": slug, "owner_email": f"owner@{slug}.example",
                                                     "owner_password": "correct horse battery"})
    assert registered.status_code == 201, registered.text
    body = registered.json()
    auth = {"Authorization": f"Bearer {body['access_token']['access_token']}"}
    for meter_slug, aggregation, value_path, group_by, *event_type in meters:
        meter = {"slug": meter_slug, "event_type": event_type[0] if event_type else "llm", "aggregation": aggregation,
                 "group_by": group_by}
        if value_path:
            meter["value_path"] = value_path
        created = await api.post("/v1/meters", headers=auth, json=meter)
        assert created.status_code == 201, created.text
    return body["tenant"]["id"], auth


async def _wait_applied(settings, tenant_id: str, slugs: list[str], timeout_s: float = 60) -> None:
    """Until the worker has backfilled each meter (its refresh timer): the next batch of the
    tenant then applies them from the start, so the events sent after are in the rollups."""
    engine = pg_engine(settings)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            async with engine.connect() as conn:
                done = {m.slug for m, backfilled in await list_meter_states(conn)
                        if backfilled and m.tenant_id == uuid.UUID(tenant_id)}
            if done >= set(slugs):
                return
            assert time.monotonic() < deadline, "the worker never applied the meters"
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


def _events(rng: random.Random, start: datetime, end: datetime, step: timedelta, prefix: str) -> list[dict]:
    events, moment, i = [], start, 0
    while moment < end:
        events.append({"id": f"{prefix}{i}", "type": "llm", "source": "test", "subject": rng.choice(["a", "b", "c"]),
                       "time": _iso(moment), "data": {"tokens": rng.randint(1, 100), "region": rng.choice(["eu", "us"]),
                                                      "model": rng.choice(["m1", "m2"]),
                                                      "user": rng.choice(["u1", "u2", "u3", "u4"])}})
        moment += step + timedelta(seconds=rng.randint(0, 59))
        i += 1
    return events


def _expected(events: list[dict], start: datetime, end: datetime, window_of, group_by: list[str],
              by_subject: bool) -> dict:
    """(meter, window, groups, subject) -> (quantity, events), from the events themselves."""
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for event in events:
        if not start <= _at(event) < end:
            continue
        for meter, _, _, meter_groups in METERS:
            groups = tuple((g, event["data"][g]) for g in group_by if g in meter_groups)
            cells[meter, window_of(_at(event)), groups, event["subject"] if by_subject else None].append(event)
    values = {"tokens": lambda es: Decimal(sum(e["data"]["tokens"] for e in es)), "calls": lambda es: Decimal(len(es)),
              "users": lambda es: Decimal(len({e["data"]["user"] for e in es}))}
    return {key: (values[key[0]](es), len(es)) for key, es in cells.items()}


def _got(body: dict, window_of) -> dict:
    rows = {}
    for row in body["rows"]:
        key = (row["meter"], window_of(datetime.fromisoformat(row["window_start"])),
               tuple(sorted(row["group"].items())), row["subject"])
        assert key not in rows, f"row {key} twice"
        rows[key] = (Decimal(row["quantity"]), row["event_count"])
    return rows


async def _query(api, auth, **params) -> dict:
    response = await api.get("/v1/usage/query", headers=auth, params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def _wait_events(api, auth, start: datetime, end: datetime, expected: int, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = await _query(api, auth, meter="calls", **{"from": start.isoformat(), "to": end.isoformat()})
        got = sum(t["event_count"] for t in body["totals"])
        if got >= expected or time.monotonic() > deadline:
            assert got == expected
            return body
        await asyncio.sleep(0.5)


@pytest.fixture
async def api(api_service):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_service.api.port}", timeout=60) as client:
        yield client


async def test_zone_windows_groups_subjects_pages_csv_and_watermark(stream_worker, api_service, api, unique_slug):
    settings = api_service
    tenant_id, auth = await _register(api, unique_slug, METERS)
    await _wait_applied(settings, tenant_id, [m[0] for m in METERS])
    rng = random.Random(13)
    ranges = []  # (zone, from, to): three local days around each DST change
    for zone in (ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")):
        for change in _transitions(zone):
            day = change.astimezone(zone).date()
            ranges.append((zone, _local_midnight(day - timedelta(days=1), zone),
                           _local_midnight(day + timedelta(days=2), zone)))
    tokyo = ZoneInfo("Asia/Tokyo")
    first = NOW.astimezone(tokyo).date().replace(day=1)
    new_month = _local_midnight((first + timedelta(days=32)).replace(day=1), tokyo)
    sent = [e for i, (zone, start, end) in enumerate(ranges)
            for e in _events(rng, start.astimezone(UTC), end.astimezone(UTC), timedelta(minutes=41), f"r{i}-")]
    sent += _events(rng, new_month.astimezone(UTC) - timedelta(hours=2), new_month.astimezone(UTC) + timedelta(hours=2),
                    timedelta(minutes=7), "tokyo-")
    await _produce(settings, tenant_id, sent)
    produced_at = datetime.now(UTC)
    everything = (datetime.fromisoformat(min(e["time"] for e in sent).replace("Z", "+00:00")).replace(second=0),
                  datetime.fromisoformat(max(e["time"] for e in sent).replace("Z", "+00:00")).replace(second=0)
                  + timedelta(minutes=1))
    # All meters count the same events: calls' events are every event sent.
    await _wait_events(api, auth, *everything, len(sent))

    for zone, start, end in ranges:
        span = {"from": start.isoformat(), "to": end.isoformat(), "tz": zone.key, "window": "day"}
        local_day = lambda at, zone=zone: at.astimezone(zone).date()  # noqa: E731
        # All meters, per local day: rollups (hours align with whole-hour offsets) except distinct counts.
        body = await _query(api, auth, **span)
        assert _got(body, local_day) == _expected(sent, start, end, local_day, [], False), (zone.key, start)
        lengths = sorted({(datetime.fromisoformat(r["window_end"]) - datetime.fromisoformat(r["window_start"]))
                          / timedelta(hours=1) for r in body["rows"]})
        assert lengths in ([23, 24], [24, 25]), lengths
        assert {t["meter"]: t["read_from"] for t in body["totals"]} == {
            "calls": "rollup:hour", "tokens": "rollup:hour", "users": "raw:hour"}
        # Group-by plus subject: raw events.
        grouped = await _query(api, auth, group_by=["region", "model"], by_subject="true", **span)
        assert _got(grouped, local_day) == _expected(sent, start, end, local_day, ["region", "model"], True)
        assert {t["read_from"] for t in grouped["totals"]} == {"raw:hour"}
        assert grouped["totals"] == [{**t, "read_from": "raw:hour"} for t in body["totals"]]

    zone, start, end = ranges[0]
    span = {"from": start.isoformat(), "to": end.isoformat(), "tz": zone.key, "window": "day",
            "group_by": ["region"], "by_subject": "true"}
    whole = await _query(api, auth, **span)
    # Pagination: every row once, in the same order.
    paged, cursor, pages = [], None, 0
    while True:
        page = await _query(api, auth, limit=4, **span, **({"cursor": cursor} if cursor else {}))
        paged.extend(page["rows"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole["rows"] and pages == -(-len(whole["rows"]) // 4) and len(whole["rows"]) > 8
    # CSV: the same rows.
    exported = await api.get("/v1/usage/export", headers=auth, params=span)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["x-usage-watermark"]
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["meter"], datetime.fromisoformat(r["window_start"]), datetime.fromisoformat(r["window_end"]),
             r["group.region"] or None, r["subject"], Decimal(r["quantity"]), int(r["event_count"])) for r in lines] == [
        (r["meter"], datetime.fromisoformat(r["window_start"]), datetime.fromisoformat(r["window_end"]),
         r["group"].get("region"), r["subject"], Decimal(r["quantity"]), r["event_count"]) for r in whole["rows"]]

    # Tokyo months start at Tokyo's midnight: the events either side of it fall in two months.
    month_span = (_local_midnight(first, tokyo), _local_midnight((new_month + timedelta(days=32)).date().replace(day=1),
                                                                 tokyo))
    local_month = lambda at: (at.astimezone(tokyo).year, at.astimezone(tokyo).month)  # noqa: E731
    months = await _query(api, auth, tz="Asia/Tokyo", window="month", **{"from": month_span[0].isoformat(),
                                                                          "to": month_span[1].isoformat()})
    expected = _expected(sent, *month_span, local_month, [], False)
    assert _got(months, local_month) == expected and len({k[1] for k in expected}) == 2
    # India's +05:30: whole UTC hours come from the hour rollups; the hours its days start in
    # are read minute by minute from raw events (minutes are not stored).
    kolkata = ZoneInfo("Asia/Kolkata")
    k_start, k_end = (_local_midnight(ranges[0][1].astimezone(kolkata).date(), kolkata),
                      _local_midnight(ranges[0][2].astimezone(kolkata).date() + timedelta(days=1), kolkata))
    india_day = lambda at: at.astimezone(kolkata).date()  # noqa: E731
    india = await _query(api, auth, tz="Asia/Kolkata", window="day", meter="tokens",
                         **{"from": k_start.isoformat(), "to": k_end.isoformat()})
    assert india["totals"][0]["read_from"] == "rollup:hour+raw:minute"
    assert _got(india, india_day) == {k: v for k, v in _expected(sent, k_start, k_end, india_day, [], False).items()
                                      if k[0] == "tokens"}

    # The watermark: present, never going back, and past the moment everything was sent.
    marks = []
    deadline = time.monotonic() + 30
    while not marks or datetime.fromisoformat(marks[-1]) < produced_at:
        assert time.monotonic() < deadline, marks
        marks.append((await _query(api, auth, meter="calls"))["watermark"])
        assert marks[-1] is not None
        await asyncio.sleep(0.4)
    marks.append((await _query(api, auth, meter="calls"))["watermark"])
    assert [datetime.fromisoformat(m) for m in marks] == sorted(datetime.fromisoformat(m) for m in marks)
    # The existing usage answers carry it too.
    for path in ("/v1/usage", "/v1/usage/hourly"):
        answer = (await api.get(path, headers=auth, params={"meter": "calls"})).json()
        assert datetime.fromisoformat(answer["watermark"]) >= datetime.fromisoformat(marks[-1]), path


async def _wait_view(api, auth, ready, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        response = await api.get("/v1/events/recent", headers=auth, params={"limit": 50})
        assert response.status_code == 200, response.text
        if ready(response.json()) or time.monotonic() > deadline:
            return response.json()
        await asyncio.sleep(0.5)


async def test_event_view_fates_and_tenant_isolation(stream_worker, api_service, api, unique_slug):
    settings = api_service
    tenant_a, auth_a = await _register(api, unique_slug, [("tokens", "SUM", "tokens", []),
                                                          ("calls", "COUNT", None, [], "api.call")])
    tenant_b, auth_b = await _register(api, unique_slug + "b", [("b-only", "COUNT", None, [])])
    at = _iso(NOW - timedelta(minutes=5))
    counted = {"id": "ev-counted", "type": "llm", "source": "t", "subject": "s", "time": at, "data": {"tokens": 7}}
    # "tokens" is the one meter of type llm, and this event has no tokens: nothing counts it.
    dead = {"id": "ev-dead", "type": "llm", "source": "t", "subject": "s", "time": at, "data": {"no": "tokens"}}
    unmetered = {"id": "ev-unmetered", "type": "page.view", "source": "t", "subject": "s", "time": at, "data": {}}
    await _produce(settings, tenant_a, [counted, dead, unmetered])
    await _produce(settings, tenant_b, [{**counted, "id": "ev-of-b"}])
    first = await _wait_view(api, auth_a, lambda body: len(body["events"]) >= 3)
    assert sorted(e["id"] for e in first["events"]) == ["ev-counted", "ev-dead", "ev-unmetered"]
    assert first["duplicates_dropped"] == 0
    # The same id again, in a later batch: dropped and tallied, not stored again.
    await _produce(settings, tenant_a, [{**counted, "data": {"tokens": 1000}}])
    view = await _wait_view(api, auth_a, lambda body: body["duplicates_dropped"] >= 1)
    assert view["duplicates_dropped"] == 1
    fates = {e["id"]: e for e in view["events"]}
    assert sorted(fates) == ["ev-counted", "ev-dead", "ev-unmetered"]
    assert (fates["ev-counted"]["fate"], fates["ev-counted"]["counted_by"]) == ("counted", ["tokens"])
    assert fates["ev-counted"]["data"] == {"tokens": 7}  # the first copy, the one counted
    assert (fates["ev-dead"]["fate"], fates["ev-dead"]["counted_by"]) == ("dead_lettered", [])
    assert [d["meter"] for d in fates["ev-dead"]["dead_letters"]] == ["tokens"]
    assert "tokens" in fates["ev-dead"]["dead_letters"][0]["reason"]
    assert fates["ev-unmetered"]["fate"] == "unmetered" and fates["ev-unmetered"]["counted_by"] == []
    one = await api.get("/v1/events/ev-dead", headers=auth_a)
    assert one.status_code == 200 and one.json()["fate"] == "dead_lettered"
    assert one.json()["dead_letters"] == fates["ev-dead"]["dead_letters"]
    assert (await api.get("/v1/events/ev-counted", headers=auth_a)).json()["fate"] == "counted"
    assert (await api.get("/v1/events/no-such-event", headers=auth_a)).status_code == 404
    # Pages of one event each visit the three once.
    seen, cursor = [], None
    while True:
        page = (await api.get("/v1/events/recent", headers=auth_a,
                              params={"limit": 1, **({"cursor": cursor} if cursor else {})})).json()
        seen.extend(e["id"] for e in page["events"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ["ev-counted", "ev-dead", "ev-unmetered"] and len(seen) == 3

    # Isolation: another tenant's event ids and meters are unknown, never data.
    await _wait_view(api, auth_b, lambda body: len(body["events"]) >= 1)
    assert (await api.get("/v1/events/ev-of-b", headers=auth_a)).status_code == 404
    assert (await api.get("/v1/events/ev-counted", headers=auth_b)).status_code == 404
    assert (await api.get("/v1/usage/query", headers=auth_a, params={"meter": "b-only"})).status_code == 404
    assert (await api.get("/v1/usage/export", headers=auth_a, params={"meter": "b-only"})).status_code == 404
    b_view = (await api.get("/v1/events/recent", headers=auth_b)).json()
    assert [e["id"] for e in b_view["events"]] == ["ev-of-b"]
    all_of_a = await _query(api, auth_a, **{"from": _iso(NOW - timedelta(hours=1)), "to": _iso(NOW + timedelta(hours=1))})
    assert {t["meter"] for t in all_of_a["totals"]} == {"calls", "tokens"}
