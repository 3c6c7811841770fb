"""Outbound webhooks refuse loopback, private, link-local and metadata targets (SSRF),
after DNS and on every redirect, over real sockets and the real resolver.

The suite allows private targets (its receivers listen on 127.0.0.1); these tests turn
that off. A redirect needs a first hop that is allowed: 127.0.0.2 (loopback too, but
named in `allowed_networks`) plays the tenant's public server.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from asgi_lifespan import LifespanManager

from meterline.bootstrap import api_app
from billing_jobs.notify_adapter import HttpWebhookSender
from billing_jobs.outbound_targets import TargetPolicy, TargetRefused
from meterline.settings import Settings
from tests.support.receivers import webhook_receiver

pytestmark = pytest.mark.integration

STRICT = TargetPolicy()
SECOND_LOOPBACK = TargetPolicy(allowed_networks=("127.0.0.2/32",))


@contextmanager
def redirector(location: str) -> Iterator[str]:
    """An HTTP server on 127.0.0.2 answering every POST with 307 to `location`
    (or, with location "", 200 and the host it was asked for)."""
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hosts.append(self.headers.get("Host", ""))
            self.send_response(307 if location else 200)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.2:{server.server_address[1]}/hook", hosts
    finally:
        server.shutdown()
        server.server_close()


def sender(policy: TargetPolicy) -> HttpWebhookSender:
    return HttpWebhookSender(timeout_s=2.0, attempts=1, policy=policy)


def send(policy: TargetPolicy, url: str) -> None:
    web = sender(policy)
    try:
        web.send(url, "mlwh_secret", "evt-1", {"kind": "test"})
    finally:
        web.close()


def test_loopback_targets_are_refused_and_never_contacted():
    with webhook_receiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        for url in (receiver.url, f"http://localhost:{port}/hooks/meterline", f"http://[::ffff:127.0.0.1]:{port}/h"):
            with pytest.raises(TargetRefused) as refused:
                send(STRICT, url)
            assert "not a public address" in str(refused.value)
        assert receiver.deliveries == []


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/iam/", "http://10.0.0.1/hook",
                                 "http://192.168.0.1/hook", "http://[fd00:ec2::254]/latest"])
def test_metadata_and_private_targets_are_refused(url):
    with pytest.raises(TargetRefused):
        send(STRICT, url)


def test_a_redirect_to_loopback_is_refused_before_it_is_followed():
    with webhook_receiver() as internal:
        port = internal.url.rsplit(":", 1)[1]
        for location in (internal.url, f"http://localhost:{port}/x", "http://169.254.169.254/latest/meta-data/"):
            with redirector(location) as (url, hosts):
                with pytest.raises(TargetRefused) as refused:
                    send(SECOND_LOOPBACK, url)
                assert len(hosts) == 1  # the first hop was contacted, the redirect was not
                # Nothing internal was contacted, so the error (the tenant reads it in its
                # outbox) can only say that the target was refused.
                assert "not a public address" in str(refused.value)
        assert internal.deliveries == []


def test_an_allowed_target_gets_the_post_at_the_checked_address_with_its_own_host_header():
    with redirector("") as (url, hosts):
        send(SECOND_LOOPBACK, url)
        assert hosts == [url.split("/")[2]]
    with redirector("") as (final, final_hosts), redirector(final) as (first, first_hosts):
        send(SECOND_LOOPBACK, first)  # an allowed redirect is followed, as a POST
        assert (len(first_hosts), len(final_hosts)) == (1, 1)


def test_the_development_setting_allows_local_receivers():
    with webhook_receiver() as receiver:
        send(TargetPolicy(allow_private=True), receiver.url)
        assert len(receiver.deliveries) == 1


async def test_the_api_refuses_internal_webhook_targets(stack: Settings):
    strict = stack.model_copy(update={"notify": stack.notify.model_copy(update={"allow_private_targets": False})})
    application = api_app(strict)
    async with LifespanManager(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://api.test") as api:
            slug = "t" + uuid.uuid4().hex[:10]
            registered = await api.post("/v1/tenants", json={"slug": slug, "name": slug, "owner_email": f"o@{slug}.example",
                                                             "owner_password": "correct horse battery"})
            auth = {"Authorization": f"Bearer {registered.json()['access_token']['access_token']}"}
            with webhook_receiver() as receiver:
                port = receiver.url.rsplit(":", 1)[1]
                for url in (receiver.url, f"http://localhost:{port}/h", "http://169.254.169.254/latest/meta-data/"):
                    response = await api.put("/v1/notifications/target", headers=auth, json={"webhook_url": url})
                    assert response.status_code == 422, response.text
                    error = response.json()["error"]
                    assert error["code"] == "webhook_target_refused"
                    assert [d["field"] for d in error["details"]] == ["webhook_url"]
                assert receiver.deliveries == []
            target = await api.get("/v1/notifications/target", headers=auth)
            assert target.json()["webhook_url"] is None
