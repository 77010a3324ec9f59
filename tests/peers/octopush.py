"""A local Octopush: `POST /v1/public/sms-campaign/send` as its documentation describes it, and its
callbacks (delivery receipts, replies) as it posts them.

The send takes JSON with the `api-key` and `api-login` headers: `recipients` (`[{"phone_number":
"+33…"}]`), `text` (1 to 1224 characters), `type` (`sms_premium`, `sms_low_cost`), `purpose`
(`alert`, `wholesale`), `sender` (3 to 11 letters, digits or spaces), `with_replies`. It answers 201
and `{"sms_ticket": "sms_…", …}`. Its error body is not in the pages consulted: a wrong login or key
is answered 401, a malformed request 400, each with `{"code", "message"}` — the sender relies on the
status alone. Receipts are `{channel, message_id, number, status, delivery_date, …}`
(dev.octopush.com/en/sms-gateway-api-documentation/callbacks/acknowledge-receipt), replies
`{message_id, number, text, sim_card_number, reception_date}` (…/inbounds/): JSON, by POST.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from tests.peers.http_fake import FakeServer, JsonHandler

API_LOGIN, API_KEY = "pc-astreinte@example.org", "octopush-test-api-key-0123456789"
SENDER = re.compile(r"^[A-Za-z0-9 ]{3,11}$")


@dataclass
class Message:
    ticket: str
    to: str
    text: str
    body: dict
    headers: dict = field(default_factory=dict)
    client_port: int = 0  # the same port twice: the sender kept its connection (and client)


class FakeOctopush(FakeServer):
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refused = 0
        octopush = self

        class Handler(JsonHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Octopush's API offers

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/public/sms-campaign/send":
                    return self._answer(404, {"code": 404, "message": "not found"})
                if (self.headers.get("api-login"), self.headers.get("api-key")) != (API_LOGIN, API_KEY):
                    octopush.refused += 1
                    return self._answer(401, {"code": 100, "message": "Invalid credentials"})
                try:
                    body = json.loads(raw) if self.headers.get("content-type", "").startswith("application/json") else None
                except ValueError:
                    body = None
                problem = _invalid(body)
                if problem:
                    octopush.refused += 1
                    return self._answer(400, {"code": 400, "message": problem})
                (recipient,) = body["recipients"]
                message = Message("sms_" + secrets.token_hex(11), recipient["phone_number"], body["text"], body,
                                  {k.lower(): v for k, v in self.headers.items()}, self.client_address[1])
                octopush.messages.append(message)
                self._answer(201, {"sms_ticket": message.ticket, "number_of_contacts": 1,
                                   "number_of_sms_needed": 1, "total_cost": 0.055})

        self._listen(Handler)

    def provider_url(self, key: str = API_KEY, sender: str = "Vigie", extra: str = "") -> str:
        return f"octopush://{API_LOGIN}:{key}@{sender}/{{to}}?base={self.base}{extra}"

    @staticmethod
    def receipt(message: Message, status: str) -> dict:
        return {"channel": "sms", "message_id": message.ticket, "list_name": "", "number": message.to,
                "status": status, "unit_price": 0.055, "delivery_date": _now(), "meta_data": {}}

    @staticmethod
    def incoming(number: str, text: str, ticket: str = "") -> dict:
        return {"message_id": ticket, "number": number, "text": text, "sim_card_number": "38100",
                "reception_date": _now()}


def _invalid(body) -> str:
    if not isinstance(body, dict):
        return "the body must be JSON"
    recipients = body.get("recipients")
    if not isinstance(recipients, list) or len(recipients) != 1 or not isinstance(recipients[0], dict):
        return "recipients: one contact expected here"
    if not re.match(r"^\+[1-9][0-9]{6,14}$", str(recipients[0].get("phone_number", ""))):
        return "recipients: phone_number must be international (+…)"
    if not 1 <= len(str(body.get("text", ""))) <= 1224:
        return "text: 1 to 1224 characters"
    if body.get("type") not in ("sms_premium", "sms_low_cost"):
        return "type: sms_premium or sms_low_cost"
    if body.get("purpose") not in ("alert", "wholesale"):
        return "purpose: alert or wholesale"
    if not SENDER.match(str(body.get("sender", ""))):
        return "sender: 3 to 11 alphanumeric characters"
    if not isinstance(body.get("with_replies", False), bool):
        return "with_replies: a boolean"
    return ""


def _now() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")
