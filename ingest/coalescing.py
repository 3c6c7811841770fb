"""Concurrent requests share Kafka records: one open pack per (tenant, partition), flushed together.

Each request hands its events, grouped by partition (``ingest.packing``), to
``RecordCoalescer.submit`` and waits on the future it gets back; that future succeeds
only once the broker acknowledged every record holding one of the request's events,
and fails (``BrokerUnavailable``) as soon as one of them fails or misses its deadline.
So the contract of a 202 is the same as with one request's records of its own.

Why: at 2,000 single-event requests/s a record per request cost a ``send``, its future,
a deadline timer and a slot in a produce request each time (a fifth of the request's
CPU). Here requests that arrive while the flusher is busy (or within one loop turn)
share records, and a record carries one deadline timer whatever the number of requests
in it.

Order: one flusher sends records in the order they were opened, and a request's events
keep their order inside a pack, so one subject's events reach their partition in the
order the service accepted them, as before. A pack's ``received_at`` is that of the
first request in it: the others arrived within the same flush, milliseconds later.

Trace ids: a pack's events are contiguous per request, so its `meterline-traces` header
holds one run (trace id, events, sampled) per request share (meterline/tracing.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from meterline.tracing import TRACE_HEADER, Trace, encode_runs

from .packing import pack_head, pack_value
from .producer import BrokerUnavailable, EventProducer

__all__ = ["RecordCoalescer"]

log = logging.getLogger(__name__)


class _Ticket:
    """One request's share: acknowledged when all its records are, settled when none holds memory."""

    __slots__ = ("future", "unacked", "unsettled", "on_settled")

    def __init__(self, future: asyncio.Future, on_settled: Callable[[], None]):
        self.future = future
        self.unacked = 0
        self.unsettled = 0
        self.on_settled = on_settled

    def acked(self) -> None:
        self.unacked -= 1
        if self.unacked == 0 and not self.future.done():
            self.future.set_result(None)

    def failed(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)

    def settled(self) -> None:
        self.unsettled -= 1
        if self.unsettled == 0:
            self.on_settled()


class _Pack:
    """An open record: events of one tenant bound for one partition, and the requests they come from."""

    __slots__ = ("key", "partition", "head", "deadline", "payloads", "size", "tickets", "timer", "done", "traces")

    def __init__(self, key: bytes, partition: int, head: bytes, deadline: float):
        self.key, self.partition, self.head, self.deadline = key, partition, head, deadline
        self.payloads: list[bytes] = []
        self.traces: list[list] = []  # [trace id, events, sampled] per request share, in order
        self.size = 0
        self.tickets: list[_Ticket] = []
        self.timer: asyncio.TimerHandle | None = None
        self.done = False  # acknowledged, failed or expired: the tickets were told

    def fail(self, exc: BaseException) -> None:
        if not self.done:
            self.done = True
            for ticket in self.tickets:
                ticket.failed(exc)

    def settle(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        for ticket in self.tickets:
            ticket.settled()
        self.tickets = []
        self.payloads = []


_UNTRACED = Trace("", False)  # a caller without a trace id still keeps the runs aligned


class RecordCoalescer:
    def __init__(self, producer: EventProducer, max_events: int, max_bytes: int, timeout_s: float):
        self._producer = producer
        self._max_events, self._max_bytes = max_events, max_bytes
        self._timeout_s = timeout_s
        self._open: dict[tuple[str, int], _Pack] = {}
        self._ready: list[_Pack] = []  # full or open packs, in the order they were opened
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task | None = None

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever())

    async def close(self) -> None:
        """Send what is pending, then stop (before the producer stops, which waits for the acks)."""
        if self._flusher is None:
            return
        self._flusher.cancel()
        try:
            await self._flusher
        except asyncio.CancelledError:
            pass
        await self._flush()

    def submit(self, tenant_id: str, received_at: str, groups: list[tuple[int, bytes, list[bytes]]],
               on_settled: Callable[[], None], trace: Trace | None = None) -> asyncio.Future:
        """Queue one request's events; the future is done once Kafka acknowledged all of them.

        ``groups`` is ``ingest.packing.group_by_partition``'s answer. ``on_settled`` runs
        once no record holds any of these events any more (acknowledged or failed), which
        may be after the future is done.
        """
        loop = asyncio.get_running_loop()
        ticket = _Ticket(loop.create_future(), on_settled)
        trace = trace or _UNTRACED
        max_events, max_bytes = self._max_events, self._max_bytes
        head = None
        for partition, key, payloads in groups:
            slot = (tenant_id, partition)
            pack = self._open.get(slot)
            for payload in payloads:
                cost = len(payload) + 1
                if pack is not None and pack.payloads and (len(pack.payloads) >= max_events
                                                           or pack.size + cost > max_bytes):
                    del self._open[slot]  # full: stays in the ready list, a new one opens
                    pack = None
                if pack is None:
                    if head is None:
                        head = pack_head(tenant_id, received_at)
                    deadline = loop.time() + self._timeout_s
                    pack = self._open[slot] = _Pack(key, partition, head, deadline)
                    pack.timer = loop.call_at(deadline, self._expire, pack)
                    self._ready.append(pack)
                if not pack.tickets or pack.tickets[-1] is not ticket:
                    pack.tickets.append(ticket)
                    ticket.unacked += 1
                    ticket.unsettled += 1
                    pack.traces.append([trace.trace_id, 0, trace.sampled])
                pack.traces[-1][1] += 1
                pack.payloads.append(payload)
                pack.size += cost
        self._wake.set()
        return ticket.future

    def _expire(self, pack: _Pack) -> None:
        pack.timer = None
        if not pack.done:
            self._producer.failed("timeout")
            pack.fail(BrokerUnavailable(f"TimeoutError: a record was unacknowledged after {self._timeout_s} s"))

    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._flush()
            except Exception:  # noqa: BLE001 - the flusher must outlive any one batch
                log.exception("flushing records failed")

    async def _flush(self) -> None:
        while self._ready:
            packs, self._ready = self._ready, []
            self._open.clear()  # later requests open new packs, sent after these
            for pack in packs:
                await self._send(pack)

    async def _send(self, pack: _Pack) -> None:
        if pack.done:  # expired while waiting for its turn: the requests were answered 503
            pack.settle()
            return
        try:
            # send() waits while the partition's batch is full and undrained (a broker away
            # or slow): bounded by the pack's own deadline, so one stuck record cannot hold
            # the packs behind it for the producer's whole request timeout each.
            async with asyncio.timeout_at(pack.deadline):
                headers = [(TRACE_HEADER, encode_runs(pack.traces))] if pack.traces else None
                future = await self._producer.send(pack.key, pack_value(pack.head, pack.payloads), pack.partition,
                                                   headers)
        except TimeoutError:
            self._expire(pack)
            pack.settle()
            return
        except BrokerUnavailable as exc:
            pack.fail(exc)
            pack.settle()
            return
        except BaseException as exc:
            pack.fail(BrokerUnavailable(f"{type(exc).__name__}: {exc}"))
            pack.settle()
            raise
        pack.payloads = []  # the producer holds the bytes now
        future.add_done_callback(lambda f: self._acknowledged(pack, f))

    def _acknowledged(self, pack: _Pack, future: asyncio.Future) -> None:
        if future.cancelled():
            self._producer.failed("cancelled")
            pack.fail(BrokerUnavailable("the record was cancelled"))
        elif (exc := future.exception()) is not None:
            self._producer.failed(type(exc).__name__)
            pack.fail(BrokerUnavailable(f"{type(exc).__name__}: {exc}"))
        else:
            self._producer.delivered()
            if not pack.done:
                pack.done = True
                for ticket in pack.tickets:
                    ticket.acked()
        pack.settle()
