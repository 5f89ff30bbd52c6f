"""Notifications through a real HTTP server on 127.0.0.1: down, then answering 503 with
Retry-After, then up. Nothing is lost, the id stays fixed across retries, every request is
signed as Standard Webhooks say, and each attempt is recorded."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.monitoring.story import SETTINGS, build, set_clock
from workbench.monitoring.notify import RetryPolicy, sign, verify_signature

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="


class Receiver:
    """A webhook receiver on 127.0.0.1 whose answer the test sets."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.headers: dict[str, str] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                for k, v in receiver.headers.items():
                    self.send_header(k, v)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def ws(tmp_path_factory, port):
    root = tmp_path_factory.mktemp("hooks") / "story"
    settings = SETTINGS + (
        f'\n[monitoring]\nfile = "alerts.jsonl"\nretry_base_seconds = 30\n'
        f'[monitoring.webhook]\nurl = "http://127.0.0.1:{port}/hook"\nsecret = "{SECRET}"\n'
        "timeout = 2\n"
    )
    return build(root, settings=settings)


def test_a_receiver_that_was_down_gets_every_alert_later(ws, port):
    clock = Clock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    set_clock(ws, clock)
    result = ws.monitor_check()  # nobody listens on the port yet
    assert result.fired and result.delivered == len(result.fired)  # the file channel
    pending = ws.notifications("pending")
    assert {n.channel for n in pending} == {"webhook"} and len(pending) == len(result.fired)
    first_ids = {n.event_id for n in pending}
    attempts = ws.services.alerting.notification_attempts(pending[0].id)
    assert attempts[0]["status_code"] is None and "cannot reach" in attempts[0]["error"]
    # Not due yet: nothing is sent before the backoff has passed.
    assert ws.deliver_notifications() == 0
    receiver = Receiver(port)
    try:
        receiver.status, receiver.headers = 503, {"Retry-After": "120"}
        clock.now += timedelta(minutes=5)
        assert ws.deliver_notifications() == 0
        assert len(receiver.requests) == len(first_ids)
        waiting = ws.notifications("pending")
        assert all(n.next_attempt_at == clock.now + timedelta(seconds=120) for n in waiting)
        receiver.status, receiver.headers = 204, {}
        clock.now += timedelta(minutes=3)
        assert ws.deliver_notifications() == len(first_ids)
    finally:
        receiver.close()
    assert ws.notifications("pending") == []
    ids = [h["webhook-id"] for h, _ in receiver.requests]
    assert set(ids) == first_ids and len(ids) == 2 * len(first_ids)  # same id on the retry
    for headers, body in receiver.requests:
        assert verify_signature(SECRET, headers, body, clock.now)
        payload = json.loads(body)
        assert payload["type"] == "alert.firing" and payload["text"].startswith("FIRING")
    tampered = receiver.requests[0][1].replace(b"FIRING", b"FIXED!")
    assert not verify_signature(SECRET, receiver.requests[0][0], tampered, clock.now)
    delivered = [n for n in ws.notifications("delivered") if n.channel == "webhook"]
    assert all(n.attempts == 3 for n in delivered)
    lines = (ws.root / "alerts.jsonl").read_text().splitlines()
    assert len(lines) == len(result.fired)


def test_only_2xx_is_success_and_attempts_run_out(ws, port):
    clock = Clock(datetime(2026, 2, 1, tzinfo=UTC))
    set_clock(ws, clock)
    receiver = Receiver(port)
    try:
        receiver.status = 302
        receiver.headers = {"Location": "http://127.0.0.1:1/elsewhere"}
        notes = ws.test_notification()
        hook = next(n for n in notes if n.channel == "webhook")
        assert str(hook.status) == "pending" and hook.last_error == "HTTP 302"
        # Attempts are used up: the message is marked dead, not retried forever.
        for _ in range(ws.settings.monitoring.max_attempts):
            clock.now += timedelta(hours=2)
            ws.deliver_notifications()
    finally:
        receiver.close()
    dead = [n for n in ws.notifications("dead") if n.event_id == hook.event_id]
    assert dead and dead[0].attempts == ws.settings.monitoring.max_attempts


def test_signature_follows_standard_webhooks():
    # The example from the Standard Webhooks specification's reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,bogus v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}  # fmt: skip
    at = datetime.fromtimestamp(1614265330, UTC)
    assert verify_signature(secret, headers, body, at)  # a rotated list still verifies
    assert not verify_signature(secret, headers, body, at + timedelta(minutes=6))  # stale


def test_retry_policy_backs_off_and_honours_retry_after():
    import random

    policy = RetryPolicy(max_attempts=4, base_seconds=10, max_seconds=60, jitter=0.0)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    delays = [(policy.decide(n, now) - now).total_seconds() for n in (1, 2, 3)]
    assert delays == [10, 20, 40]
    assert policy.decide(4, now) is None
    assert (policy.decide(1, now, retry_after=5000) - now).total_seconds() == 60  # capped
    jittered = RetryPolicy(jitter=0.2).decide(1, now, rng=random.Random(1)) - now
    assert 8 <= jittered.total_seconds() <= 12
