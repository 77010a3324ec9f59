"""A local Vonage SMS API: `POST /sms/json` as Vonage documents it, and its signed webhooks.

The send takes a form (`api_key`, `api_secret`, `from`, `to` without `+`, `text`, `type`,
optional `callback` and `status-report-req`) and answers 200 with `{"message-count": "1",
"messages": [{"to", "message-id", "status": "0", …}]}`; a wrong key or secret is status "4"
(« Bad Credentials »), a `to` that is not digits status "3" (« Invalid Message »). Its webhooks
(replies, delivery receipts) are built as Vonage signs them: a `sig` field over the others.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from notifications.sms_vonage import signature
from tests.peers.http_fake import FakeServer, JsonHandler

API_KEY, API_SECRET = "abcd1234", "vonage-test-secret-0123"
SIGNATURE_SECRET = "vonage-signature-secret-0123456789"


@dataclass
class Message:
    message_id: str
    to: str
    sender: str
    text: str
    callback: str | None


class FakeVonage(FakeServer):
    def __init__(self, method: str = "sha256") -> None:
        self.method = method
        self.messages: list[Message] = []
        self.refused = 0
        vonage = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                form = dict(parse_qsl(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()))
                if self.path != "/sms/json":
                    return self._answer(404, {})
                if (form.get("api_key"), form.get("api_secret")) != (API_KEY, API_SECRET):
                    vonage.refused += 1
                    return self._answer(200, {"message-count": "1", "messages": [
                        {"status": "4", "error-text": "Bad Credentials"}]})
                if not form.get("to", "").isdigit():
                    vonage.refused += 1
                    return self._answer(200, {"message-count": "1", "messages": [
                        {"status": "3", "error-text": "Invalid Message"}]})
                message = Message(secrets.token_hex(8).upper(), form["to"], form.get("from", ""), form.get("text", ""),
                                  form.get("callback"))
                vonage.messages.append(message)
                self._answer(200, {"message-count": "1", "messages": [{
                    "to": message.to, "message-id": message.message_id, "status": "0",
                    "remaining-balance": "3.14159265", "message-price": "0.03330000", "network": "20801"}]})

        self._listen(Handler)

    def provider_url(self, sender: str = "Vigie", secret: str = API_SECRET) -> str:
        return (f"vonage://{API_KEY}:{secret}@{sender}/{{to}}?base={self.base}"
                f"&signature_secret={SIGNATURE_SECRET}&signature_method={self.method}")

    def signed(self, fields: dict[str, str], *, at: float | None = None) -> dict[str, str]:
        fields = {**fields, "timestamp": str(int(time.time() if at is None else at)), "nonce": secrets.token_hex(8)}
        return {**fields, "sig": signature(SIGNATURE_SECRET, self.method, fields)}

    def receipt(self, message: Message, status: str, err_code: str = "0", at: float | None = None) -> dict[str, str]:
        return self.signed({"msisdn": message.to, "to": message.sender, "network-code": "20801",
                            "messageId": message.message_id, "price": "0.03330000", "status": status,
                            "scts": "2612050105", "err-code": err_code, "api-key": API_KEY,
                            "message-timestamp": "2026-12-05 01:05:00"}, at=at)

    def incoming(self, sender: str, text: str, to: str = "33100000000") -> dict[str, str]:
        return self.signed({"msisdn": sender.removeprefix("+"), "to": to, "messageId": secrets.token_hex(8).upper(),
                            "text": text, "type": "text", "keyword": text.split()[0].upper() if text.split() else "",
                            "api-key": API_KEY, "message-timestamp": "2026-12-05 01:05:00"})


def form(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return urlencode(fields).encode(), {"content-type": "application/x-www-form-urlencoded"}
