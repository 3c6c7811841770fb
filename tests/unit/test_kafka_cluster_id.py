"""The embedded broker's cluster id: never one that Kafka's StorageTool reads as an option."""

from __future__ import annotations

import base64
import uuid

from infra import kafka


def test_cluster_ids_never_start_with_a_dash_and_are_base64_uuids(monkeypatch):
    # uuid4 bytes whose base64 form starts with "-" first, then an ordinary one.
    dash_first = base64.urlsafe_b64decode("-b-Ywm21TmSK0QgQOCKfYg==")
    draws = iter([uuid.UUID(bytes=dash_first), uuid.UUID("12345678-1234-4234-8234-123456789abc")])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(draws))
    cluster_id = kafka._new_cluster_id()
    assert not cluster_id.startswith("-")
    assert uuid.UUID(bytes=base64.urlsafe_b64decode(cluster_id + "==")) == uuid.UUID("12345678-1234-4234-8234-123456789abc")
