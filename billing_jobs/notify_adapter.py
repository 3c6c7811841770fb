"""The adapter to the outside for notifications: signed webhooks (httpx) and SMTP (smtplib).

Errors are translated here: a 5xx, 429 or connection error is transient
(retried with exponential backoff, then RetryableError); any other 4xx is
PermanentError (the receiver refuses the message, resending will not help).
Webhooks go only to addresses the TargetPolicy allows, checked after DNS and on every
redirect (billing_jobs/outbound_targets.py); a refused target is PermanentError too.
"""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage

import httpx
import orjson
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from .errors import PermanentError, RetryableError
from .outbound_targets import Resolver, TargetPolicy, TargetRefused, resolve_target, system_resolver
from .webhook_signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header

__all__ = ["HttpWebhookSender", "SmtpMailer"]


class HttpWebhookSender:
    def __init__(self, *, timeout_s: float = 5.0, attempts: int = 4, backoff_initial_s: float = 0.5,
                 backoff_max_s: float = 8.0, clock=time.time, policy: TargetPolicy = TargetPolicy(),
                 max_redirects: int = 3, resolver: Resolver = system_resolver) -> None:
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False,
                                    headers={"User-Agent": "meterline-webhooks/1"})
        self._attempts = attempts
        self._wait = wait_exponential(multiplier=backoff_initial_s, max=backoff_max_s)
        self._clock = clock
        self._policy, self._max_redirects, self._resolver = policy, max_redirects, resolver

    def close(self) -> None:
        self._client.close()

    def send(self, url: str, secret: str, event_id: str, body: dict) -> None:
        payload = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        for attempt in Retrying(retry=retry_if_exception_type(RetryableError), stop=stop_after_attempt(self._attempts),
                                wait=self._wait, reraise=True):
            with attempt:
                self._post(url, secret, event_id, payload)

    def _post(self, url: str, secret: str, event_id: str, payload: bytes) -> None:
        # Signed per attempt: a retry carries a fresh timestamp, so a receiver's
        # replay window never rejects a late but genuine retry.
        headers = {"Content-Type": "application/json", EVENT_ID_HEADER: event_id,
                   SIGNATURE_HEADER: signature_header(secret, int(self._clock()), payload)}
        response = self._post_checked(url, payload, headers)
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError(f"webhook {url} answered {response.status_code}")
        if response.status_code >= 300:
            raise PermanentError(f"webhook {url} answered {response.status_code}")


    def _post_checked(self, url: str, payload: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST to the checked address of `url`, following 307/308 (the redirects that keep
        a POST a POST) by hand, each hop resolved and checked before it is contacted."""
        for _ in range(self._max_redirects + 1):
            target = resolve_target(url, self._policy, self._resolver)
            extensions = {"sni_hostname": target.host} if target.is_https else {}
            try:
                response = self._client.post(target.pinned_url, content=payload, extensions=extensions,
                                             headers={**headers, "Host": target.host_header})
            except httpx.TransportError as exc:
                raise RetryableError(f"webhook {url}: {type(exc).__name__}: {exc}") from exc
            location = response.headers.get("location")
            if response.status_code not in (307, 308) or not location:
                return response
            url = str(httpx.URL(url).join(location))
        raise TargetRefused(f"webhook {url}: more than {self._max_redirects} redirects")


class SmtpMailer:
    def __init__(self, *, host: str, port: int, sender: str, username: str = "", password: str = "",
                 starttls: bool = False, timeout_s: float = 10.0) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._username, self._password = username, password
        self._starttls, self._timeout_s = starttls, timeout_s

    def send(self, recipient: str, subject: str, text: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._sender, recipient, subject
        message.set_content(text)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
                if self._starttls:
                    smtp.starttls()
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"SMTP refused {recipient}: {exc.recipients}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryableError(f"SMTP {self._host}:{self._port}: {type(exc).__name__}: {exc}") from exc
