"""Notification channels: a signed webhook and a file, with a retry policy as a value.

The webhook follows Standard Webhooks: the body is JSON with a Slack-compatible ``text``
field; headers ``webhook-id`` (the outbox row's event id, fixed across retries: the
receiver's idempotency key), ``webhook-timestamp`` (seconds since the epoch) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``. Only a 2xx answer is
success; a ``Retry-After`` header (seconds or an HTTP date) sets the next attempt, capped by
the settings. The file channel appends one JSON line per message and fsyncs.

``RetryPolicy.decide(attempt, retry_after)`` returns when to try again (exponential backoff
with jitter) or None when the attempts are used up, as procrastinate's ``retry.py`` does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

__all__ = [
    "DeliveryResult",
    "RetryPolicy",
    "deliver_file",
    "deliver_webhook",
    "secret_bytes",
    "sign",
    "verify_signature",
    "webhook_body",
]


@dataclass(frozen=True)
class DeliveryResult:
    """One attempt: success, the HTTP status (None for a connection error), the error text,
    the receiver's Retry-After in seconds, and how long it took."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    duration_ms: float = 0.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped; a receiver's Retry-After wins (capped too)."""

    max_attempts: int = 12
    base_seconds: float = 10.0
    max_seconds: float = 3600.0
    jitter: float = 0.2

    def decide(
        self,
        attempts_done: int,
        now: datetime,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> datetime | None:
        """When to try again after ``attempts_done`` failed attempts, or None to give up."""
        if attempts_done >= self.max_attempts:
            return None
        if retry_after is not None and retry_after >= 0:
            delay = min(retry_after, self.max_seconds)
        else:
            delay = min(self.base_seconds * 2 ** (attempts_done - 1), self.max_seconds)
            spread = (rng or random).uniform(-self.jitter, self.jitter)
            delay = max(0.0, delay * (1 + spread))
        return now + timedelta(seconds=delay)


def secret_bytes(secret: str) -> bytes:
    """A signing key: ``whsec_<base64>`` decoded (Standard Webhooks), else the text's bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode("utf-8")


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>``: HMAC-SHA256 of ``id.timestamp.body`` under the secret."""
    payload = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), payload, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_signature(
    secret: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """Check a request as a receiver should: a fresh timestamp (five minutes) and one of
    the listed ``v1`` signatures equal under ``hmac.compare_digest``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        event_id = lower["webhook-id"]
        stamp = int(lower["webhook-timestamp"])
        listed = lower["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(now - datetime.fromtimestamp(stamp, UTC)) > tolerance:
        return False
    expected = sign(secret, event_id, stamp, body)
    return any(hmac.compare_digest(expected, s) for s in listed)


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def deliver_webhook(
    url: str,
    event_id: str,
    payload: dict[str, Any],
    *,
    secret: str | None,
    now: datetime,
    timeout: float = 5.0,
) -> DeliveryResult:
    """POST one message; only a 2xx answer is success."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    body = webhook_body(payload)
    stamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": "workbench-monitor",
        "webhook-id": event_id,
        "webhook-timestamp": str(stamp),
    }
    if secret:
        headers["webhook-signature"] = sign(secret, event_id, stamp, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.monotonic()

    def took() -> float:
        return (time.monotonic() - started) * 1000

    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            code = answer.status
            after = _retry_after(answer.headers.get("retry-after"), now)
    except urllib.error.HTTPError as exc:
        after = _retry_after(exc.headers.get("retry-after") if exc.headers else None, now)
        return DeliveryResult(False, exc.code, f"HTTP {exc.code}", after, took())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return DeliveryResult(False, None, f"cannot reach {url}: {reason}", None, took())
    if 200 <= code < 300:
        return DeliveryResult(True, code, None, None, took())
    return DeliveryResult(False, code, f"HTTP {code}", after, took())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a 2xx: it is reported, not followed (a POST turned GET loses it)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxies from the environment: a webhook on 127.0.0.1 must not go through one.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def deliver_file(path: Path, event_id: str, payload: dict[str, Any]) -> DeliveryResult:
    """Append one JSON line (with its event id) and fsync."""
    started = time.monotonic()
    line = json.dumps({"id": event_id, **payload}, sort_keys=True, default=str) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        return DeliveryResult(False, None, f"cannot write {path}: {exc.strerror}")
    return DeliveryResult(True, None, None, None, (time.monotonic() - started) * 1000)
