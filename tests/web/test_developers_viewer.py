"""Developers for a viewer: the API lets every role read dead letters (api/permissions.py
`read`), so the page shows them to a viewer too, equal to the API's answer for the viewer."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

import pytest

from tests.support.web import register_tenant, screenshot_dir

from .pages import shot, sign_in
from .roles_support import joined_user

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _dead_letters(api, user, timeout_s: float = 90) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while not (letters := api.get("/v1/stream/dead-letters", headers=user.auth).json()):
        assert time.monotonic() < deadline, "the stream dead-lettered nothing"
        time.sleep(0.5)
    return letters


def test_a_viewer_sees_the_dead_letters(page, app_url, api, ingest, plan, app_stack):
    owner = register_tenant(api, plan)
    viewer = joined_user(api, owner, "viewer")
    bad_id = "viewer-dead-" + uuid.uuid4().hex[:8]
    # llm-tokens sums data.tokens: a value that is not a number is dead-lettered by the stream.
    sent = ingest.post("/v1/events", headers={"Authorization": f"Bearer {owner.api_key}"}, json={
        "specversion": "1.0", "id": bad_id, "source": "web-test", "type": "llm.completion", "subject": "c-1",
        "time": datetime.now(timezone.utc).isoformat(), "data": {"tokens": "lots"}})
    assert sent.status_code == 202, sent.text
    letters = _dead_letters(api, viewer)
    assert [d["event_id"] for d in letters] == [bad_id]

    sign_in(page, app_url, viewer)
    page.get_by_role("link", name="Developers").click()
    table = page.get_by_test_id("dead-letters")
    table.wait_for()
    rows = table.locator("tbody tr")
    assert rows.count() == len(letters)
    cells = [c.strip() for c in rows.first.locator("td").all_text_contents()]
    assert cells[:3] == [bad_id, letters[0]["meter_slug"] or "whole event", letters[0]["reason"]]
    assert page.get_by_role("button", name="Create key").count() == 0
    shot(page, screenshot_dir(app_stack), "developers-viewer")
