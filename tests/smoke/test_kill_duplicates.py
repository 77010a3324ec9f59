"""A worker killed (SIGKILL) while it sends: nothing is lost, and each kill resends at most what it had
in flight — here one SMS at a time, so at most one duplicate hand-off per kill.

Kills at three points: right after leasing (nothing sent yet: no duplicate), while the provider holds
a message (it may have it: one duplicate at most), and between the provider's answer and its
recording (it has it: one duplicate). Before, results were recorded only once every send of the
claimed batch had returned, so a kill resent the whole batch (20 of 20 each time).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter

from sqlalchemy import func, select

from backend.db import transaction
from backend.outbox.models import Notification
from tests.factories import build_world, open_events
from tests.peers.sms_gateway import SmsGateway
from tests.smoke.harness import wait_until

EVENTS = 24
KILLS_PER_POINT = 4


def test_each_kill_resends_at_most_the_message_in_flight_and_loses_nothing(runtime, settings, tmp_path):
    factory = runtime.session_factory
    world = build_world(factory, ack_timeout_s=3600)
    open_events(factory, world, EVENTS, severity=3)
    sms_total = _count(factory, Notification.channel == "sms")
    log = open(tmp_path / "worker.log", "ab")

    with SmsGateway() as gateway:
        env = {**os.environ, "DATABASE_URL": settings.database_url, "VIGIE_VAR_DIR": str(tmp_path / "var"),
               "VIGIE_LEASE_SECONDS": "5", "VIGIE_SMS_FLOOD_LIMIT": "1000000", "VIGIE_WEBPUSH_ENABLED": "false",
               "VIGIE_SMS_PROVIDERS": json.dumps([gateway.apprise_url()]), "VIGIE_SEND_LIMITS": '{"sms": 1}'}

        def worker(fault: str | None = None) -> subprocess.Popen:
            extra = {"VIGIE_FAULT_KILL": fault} if fault else {}
            return subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env={**env, **extra},
                                    stdout=log, stderr=subprocess.STDOUT)

        def duplicates() -> int:
            seen = Counter((r.json["to"], r.json["text"]) for r in gateway.accepted)
            return sum(count - 1 for count in seen.values())

        kills = Counter()
        for _ in range(KILLS_PER_POINT):  # right after leasing: nothing handed off yet
            process = worker("claimed:1")  # its first lease: nothing of it handed off yet
            assert process.wait(30) == -signal.SIGKILL
            kills["claimed"] += 1
        assert duplicates() == 0

        for _ in range(KILLS_PER_POINT):  # the provider took it; the worker dies before writing it down
            process = worker(f"handed_off:{random.randint(1, 3)}")
            assert process.wait(30) == -signal.SIGKILL
            kills["handed_off"] += 1

        gateway.delay_s = 0.5
        for _ in range(KILLS_PER_POINT):  # while the provider holds the message
            before = gateway.arrived
            process = worker()
            wait_until(lambda before=before: gateway.arrived > before, timeout=30, what="a message at the provider")
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            kills["during"] += 1
        gateway.delay_s = 0.0

        process = worker()
        try:
            wait_until(lambda: _count(factory, Notification.status == "queued") == 0, timeout=60, interval=0.2,
                       what="the outbox to drain after the kills")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(10)

        handed = {(r.json["to"], r.json["text"]) for r in gateway.accepted}
        # Nothing lost: every SMS reached the provider and is recorded as handed off.
        assert len(handed) == sms_total
        assert _count(factory, (Notification.channel == "sms") & Notification.handed_off_at.is_not(None)) == sms_total
        # At most one duplicate hand-off per kill that could have left one behind.
        assert duplicates() <= kills["handed_off"] + kills["during"], (duplicates(), kills)


def _count(factory, condition) -> int:
    with transaction(factory) as session:
        return session.scalar(select(func.count(Notification.id)).where(condition))
