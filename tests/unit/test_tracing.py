"""meterline.tracing: a request's trace id from its headers, and the runs of a record's header."""

from __future__ import annotations

from meterline.tracing import Trace, TraceRun, decode_runs, encode_runs, event_traces, slice_runs, trace_from_headers

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_traceparent_gives_the_trace_id_and_the_sampled_flag():
    assert trace_from_headers(PARENT, "ignored") == Trace("4bf92f3577b34da6a3ce929d0e0e4736", True)
    assert trace_from_headers(PARENT[:-2] + "00", None) == Trace("4bf92f3577b34da6a3ce929d0e0e4736", False)
    assert trace_from_headers(PARENT[:-2] + "00", None, sample_all=True).sampled


def test_an_invalid_traceparent_falls_back_to_the_request_id_then_a_new_id():
    assert trace_from_headers("00-" + "0" * 32 + "-00f067aa0ba902b7-01", "req-1") == Trace("req-1", False)
    assert trace_from_headers("garbage", "req 1 with spaces").trace_id not in ("req 1 with spaces", "garbage")
    made = trace_from_headers(None, "x" * 200)
    assert len(made.trace_id) == 32 and not made.sampled
    assert trace_from_headers(None, None) != trace_from_headers(None, None)


def test_runs_round_trip_and_expand_to_each_event():
    runs = decode_runs(encode_runs([("a", 2, True), ("b", 1, False)]))
    assert runs == (TraceRun("a", 2, True), TraceRun("b", 1, False))
    assert list(event_traces(runs, 4)) == [Trace("a", True), Trace("a", True), Trace("b", False), None]
    assert list(event_traces(runs, 1)) == [Trace("a", True)]


def test_a_missing_or_unreadable_header_has_no_runs():
    assert decode_runs(None) == () and decode_runs(b"not json") == () and decode_runs(b'[["a"]]') == ()


def test_slices_of_a_split_record_keep_their_events_traces():
    runs = (TraceRun("a", 3, True), TraceRun("b", 2, False))
    assert slice_runs(runs, 0, 2) == (TraceRun("a", 2, True),)
    assert slice_runs(runs, 2, 5) == (TraceRun("a", 1, True), TraceRun("b", 2, False))
    assert slice_runs(runs, 4, 5) == (TraceRun("b", 1, False),)
