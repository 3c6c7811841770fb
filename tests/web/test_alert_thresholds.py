"""Alert thresholds in Settings, in the browser: an admin changes them (the API then answers
the same), a typo is explained before anything is sent, and a viewer reads them with no
control to change them (nor any other write action of Settings)."""

from __future__ import annotations

import pytest

from tests.support.web import register_tenant, screenshot_dir

from .pages import shot, sign_in
from .roles_support import joined_user

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PATH = "/v1/notifications/thresholds"
INPUT = "Thresholds (percent of each limit, comma-separated)"


def _shown(page) -> list[str]:
    return page.get_by_test_id("thresholds").locator(".badge").all_text_contents()


def _open_settings(page, app_url, user) -> None:
    sign_in(page, app_url, user)
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("heading", name="Alert thresholds").wait_for()
    page.get_by_test_id("thresholds").wait_for()


def test_an_admin_edits_thresholds_and_a_viewer_reads_them(page, browser, app_url, api, plan, app_stack):
    owner = register_tenant(api, plan)
    admin, viewer = joined_user(api, owner, "admin"), joined_user(api, owner, "viewer")
    _open_settings(page, app_url, admin)
    assert _shown(page) == ["80%", "100%"]
    assert page.get_by_test_id("thresholds-source").text_content() == "the platform's default"

    # A typo is explained on the spot; nothing is sent.
    page.get_by_label(INPUT).fill("50, 90, 50")
    page.get_by_role("button", name="Save thresholds").click()
    page.get_by_role("alert").filter(has_text="50% is given twice.").wait_for()
    assert api.get(PATH, headers=owner.auth).json()["custom"] is False

    page.get_by_label(INPUT).fill("150, 50 90")
    page.get_by_role("button", name="Save thresholds").click()
    page.get_by_role("status").filter(has_text="Saved").wait_for()
    stored = api.get(PATH, headers=owner.auth).json()
    assert (stored["percents"], stored["custom"]) == ([50, 90, 150], True)
    assert _shown(page) == [f"{p}%" for p in stored["percents"]]
    assert page.get_by_label(INPUT).input_value() == "50, 90, 150"
    assert page.get_by_test_id("thresholds-source").text_content() == "chosen for this tenant"
    shot(page, screenshot_dir(app_stack), "settings-alert-thresholds")

    # The viewer, in a browser of their own: the same thresholds, read only.
    context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1280, "height": 900})
    reader = context.new_page()
    reader.set_default_timeout(15_000)
    try:
        _open_settings(reader, app_url, viewer)
        assert _shown(reader) == ["50%", "90%", "150%"]
        reader.get_by_test_id("thresholds-read-only").wait_for()
        assert reader.get_by_label(INPUT).count() == 0
        assert reader.get_by_role("button", name="Save thresholds").count() == 0
        assert reader.get_by_role("button", name="Use the default (80, 100)").count() == 0
        # No other write action of Settings either: keys, meters, targets, invitations.
        for absent in ("Create key", "Create meter", "Save", "Send invitation"):
            assert reader.get_by_role("button", name=absent, exact=True).count() == 0
        assert reader.get_by_role("heading", name="Alert targets").count() == 0
        reader.get_by_test_id("users").wait_for()
        shot(reader, screenshot_dir(app_stack), "settings-viewer")
        viewer_put = api.put(PATH, json={"percents": [10]}, headers=viewer.auth)
        assert viewer_put.status_code == 403  # and the API refuses it anyway
    finally:
        context.close()

    # Back to the default from the admin's page.
    page.get_by_role("button", name="Use the default (80, 100)").click()
    page.get_by_test_id("thresholds-source").filter(has_text="the platform's default").wait_for()
    assert api.get(PATH, headers=owner.auth).json()["custom"] is False
    assert _shown(page) == ["80%", "100%"]
