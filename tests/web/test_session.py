"""A signed-in tab's session against the real POST /v1/auth/refresh and /v1/auth/logout:
an access token about to expire (or already refused) is traded silently for a new pair,
a refresh token presented twice ends the session, and signing out ends it at the API."""

from __future__ import annotations

import time

import pytest

from .pages import sign_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

_STORED = "JSON.parse(sessionStorage.getItem('meterline.session'))"


def _stored(page) -> dict:
    return page.evaluate(f"() => {_STORED}")


def _rewrite(page, script: str) -> None:
    """Changes the tab's stored session (then a reload makes the app read it)."""
    page.evaluate(f"""() => {{ const session = {_STORED}; {script};
                           sessionStorage.setItem('meterline.session', JSON.stringify(session)); }}""")


def _wait_for_new_token(page, old: str, timeout_s: float = 15) -> dict:
    deadline = time.monotonic() + timeout_s
    while (session := _stored(page))["token"] == old:
        assert time.monotonic() < deadline, "the app did not refresh the access token"
        page.wait_for_timeout(200)
    return session


def test_an_access_token_about_to_expire_is_refreshed_before_it_does(page, app_url, api, tenant_with_usage):
    sign_in(page, app_url, tenant_with_usage)
    first = _stored(page)
    assert first["refreshToken"], "the login's refresh token is kept"
    # The token expires in 3 s as far as the tab knows: the keeper trades it before then,
    # without any request being refused first.
    refreshes = []
    page.on("request", lambda r: refreshes.append(r) if r.url.endswith("/v1/auth/refresh") else None)
    _rewrite(page, "session.expiresAt = new Date(Date.now() + 3000).toISOString()")
    page.reload()
    second = _wait_for_new_token(page, first["token"])
    assert len(refreshes) == 1 and refreshes[0].post_data_json == {"refresh_token": first["refreshToken"]}
    assert second["refreshToken"] != first["refreshToken"]  # rotated: the first one is used up
    assert api.get("/v1/users/me", headers={"Authorization": f"Bearer {second['token']}"}).status_code == 200
    # Still signed in, the pages work with the new token.
    page.get_by_role("link", name="Usage").click()
    page.get_by_role("heading", name="Usage explorer").wait_for()
    assert page.get_by_role("heading", name="Sign in to Meterline").count() == 0


def test_a_refused_access_token_is_refreshed_and_the_request_retried(page, app_url, api, tenant_with_usage):
    sign_in(page, app_url, tenant_with_usage)
    first = _stored(page)
    _rewrite(page, "session.token = session.token.slice(0, -4) + 'AAAA'")  # refused from now on (401)
    page.goto(app_url + "/settings")
    page.get_by_test_id("api-keys").wait_for()  # the page loaded: retried with the new token
    second = _stored(page)
    # The new access token may equal the first to the letter (the same claims within one second);
    # what must change is the spoiled one in the tab and the single-use refresh token.
    assert second["token"] != first["token"][:-4] + "AAAA" and second["refreshToken"] != first["refreshToken"]
    assert api.get("/v1/users/me", headers={"Authorization": f"Bearer {second['token']}"}).status_code == 200


def test_a_refresh_token_used_twice_ends_the_session(page, app_url, api, tenant_with_usage):
    sign_in(page, app_url, tenant_with_usage)
    first = _stored(page)
    _rewrite(page, "session.expiresAt = new Date(Date.now() + 2000).toISOString()")
    page.reload()
    second = _wait_for_new_token(page, first["token"])
    # Someone replays the used refresh token (a stolen copy): the API ends the whole session.
    replay = api.post("/v1/auth/refresh", json={"refresh_token": first["refreshToken"]})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "refresh_token_reused"
    assert api.get("/v1/users/me", headers={"Authorization": f"Bearer {second['token']}"}).status_code == 401
    # The tab's next request is refused, its refresh too: it says the session ended.
    page.get_by_role("link", name="Usage").click()
    page.get_by_text("Your session ended. Sign in again to continue.").wait_for()
    assert page.evaluate("sessionStorage.getItem('meterline.session')") is None


def test_sign_out_ends_the_session_at_the_api(page, app_url, api, tenant_with_usage):
    sign_in(page, app_url, tenant_with_usage)
    session = _stored(page)
    with page.expect_response(lambda r: r.url.endswith("/v1/auth/logout")) as logout:
        page.get_by_role("button", name="Sign out").click()
    assert logout.value.status == 204
    page.get_by_role("heading", name="Sign in to Meterline").wait_for()
    assert page.evaluate("sessionStorage.getItem('meterline.session')") is None
    # Neither the access token nor the refresh token of that session works any more.
    assert api.get("/v1/users/me", headers={"Authorization": f"Bearer {session['token']}"}).status_code == 401
    assert api.post("/v1/auth/refresh", json={"refresh_token": session["refreshToken"]}).status_code == 401
