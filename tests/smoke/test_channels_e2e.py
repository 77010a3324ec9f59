"""Issue 3 end to end, every road real: a local push service that verifies VAPID and decrypts,
two HTTP SMS gateways (the first one failing), an SMTP server, and the signed SMS callback."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from backend.app import create_app
from backend.db import transaction
from backend.inbound.router import signed_headers
from backend.people.models import ContactMethod
from tests.conftest import INBOUND_SECRET
from tests.factories import PASSWORD, build_world
from tests.peers.push_service import PushService, make_subscription
from tests.peers.sms_gateway import SmsGateway
from tests.peers.smtp import SmtpServer
from tests.smoke.harness import LiveServer, login, wait_until

TECH1, TECH2 = "+33639980101", "+33639980102"


@pytest.fixture
def peers():
    with PushService() as push, SmsGateway(status=500) as broken, SmsGateway() as gateway, SmtpServer() as smtp:
        yield push, broken, gateway, smtp


def texts_to(gateway: SmsGateway, number: str) -> list[str]:
    return [r.json["text"] for r in gateway.accepted if r.json and r.json.get("to") == number]


def test_push_gone_then_sms_then_signed_reply_acknowledges_and_closes_the_loop(settings, peers):
    push, broken, gateway, smtp = peers
    settings.sms_providers = [broken.apprise_url(), gateway.apprise_url()]
    settings.smtp_url = smtp.apprise_url()
    app = create_app(settings, run_worker=True)
    with LiveServer(app) as server:
        factory = app.state.runtime.session_factory
        world = build_world(factory, ack_timeout_s=2)
        subscription, _key, _auth = make_subscription(push, "tech1")
        push.script("tech1", 410)
        with transaction(factory) as s:
            s.add(ContactMethod(person_id=world.techs[0], kind="push", address=subscription))
        http = server.client()
        operator = login(http, world.users["operator"], PASSWORD)
        event = http.post("/api/v1/events", headers=operator, json={
            "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
            "title": "Chute d'arbre", "place": "av. Roland Carraz, voie bloquée"}).json()

        # The push service answered 410 after checking VAPID and decrypting what it was sent.
        wait_until(lambda: push.to("tech1"), what="the push to technician 1")
        pushed = push.to("tech1")[0]
        assert pushed.status == 410 and pushed.payload["data"]["number"] == event["number"]
        assert pushed.headers["urgency"] == "high"
        # The SMS went through the second gateway after the first failed.
        wait_until(lambda: texts_to(gateway, TECH1), what="the SMS to technician 1")
        assert any(r.json and r.json.get("to") == TECH1 for r in broken.requests)
        assert texts_to(gateway, TECH1)[0].startswith(f"[CHENOVE] GRAVE {event['number']} Chute d'arbre")
        # Nobody answered within 2 s: technician 2 is texted.
        wait_until(lambda: texts_to(gateway, TECH2), timeout=8, what="the SMS to technician 2")
        # The élu is informed (severity 3): SMS and e-mail.
        mails = smtp.wait_for(1, timeout=8)
        assert "elu.un@example.org" in mails[0].rcpt_tos

        body = json.dumps({"from": TECH1, "text": "1"}).encode()
        reply = http.post("/api/v1/sms/inbound", content=body, headers={
            "content-type": "application/json", **signed_headers(INBOUND_SECRET, body)})
        assert reply.status_code == 200

        detail = http.get(f"/api/v1/events/{event['id']}", headers=operator).json()
        assert detail["pages"][0]["status"] == "acknowledged"
        assert detail["pages"][0]["acknowledged_by_person_id"] == world.techs[0]
        wait_until(lambda: any("Pris en charge par Tech Un" in t for t in texts_to(gateway, TECH2)),
                   what="'pris en charge' to technician 2")
        wait_until(lambda: any("Recu : je prends" in t for t in texts_to(gateway, TECH1)),
                   what="the confirmation SMS")

        def trace():
            return http.get(f"/api/v1/events/{event['id']}/trace", headers=operator).json()

        wait_until(lambda: sum(e["kind"] == "notification.sent" for e in trace()) >= 5, what="every attempt traced")
        entries = trace()
        kinds = [e["kind"] for e in entries]
        failed_push = [e for e in entries if e["kind"] == "notification.failed" and e["data"]["channel"] == "push"]
        assert failed_push and "410" in failed_push[0]["data"]["detail"]
        assert "contact.removed" in kinds
        sent_sms = [e for e in entries if e["kind"] == "notification.sent" and e["data"]["channel"] == "sms"]
        assert any("after provider 1" in e["data"]["detail"] for e in sent_sms), "the failover is traced"
        ack = next(e for e in entries if e["kind"] == "response.ack")
        assert ack["data"]["via"] == "sms"
        assert kinds.index("response.ack") < kinds.index("page.acknowledged")
        assert http.get(f"/api/v1/events/{event['id']}/trace/verify", headers=operator).json()["intact"]
        with factory() as s:
            assert s.scalar(select(ContactMethod).where(ContactMethod.kind == "push")) is None
