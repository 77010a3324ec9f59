"""A local Twilio: the Messages API as Twilio documents it, and its signed callbacks.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic auth (Account SID, auth
token) and a form (`To`, `From` or `MessagingServiceSid`, `Body`, optional `StatusCallback`):
201 and the message resource as JSON (`sid` "SM…", `status` "queued"); 401 with Twilio's error
body for a wrong account or token; 400 code 21211 for a `To` that is not a number.

The callbacks are built as Twilio sends them — form fields, and `X-Twilio-Signature` computed
over the URL called and the fields (`notifications.sms_twilio.signature` is checked against
Twilio's published example in the tests) — for the test to post to Vigie.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from notifications.sms_twilio import signature
from tests.peers.http_fake import FakeServer, JsonHandler

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-auth-token-0123456789"
MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")


@dataclass
class Message:
    sid: str
    to: str
    sender: str
    body: str
    status_callback: str | None


class TwilioAccount(FakeServer):
    """An account of Twilio's REST API: its credentials, the refusals it gives, its signed callbacks."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.refused = 0

    def refusal(self, handler, resource: re.Pattern, to: str) -> tuple[int, dict] | None:
        """What Twilio answers a request it refuses (its error body), or None."""
        match = resource.match(handler.path)
        if not match:
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if match["sid"] != self.account_sid or handler.headers.get("Authorization") != f"Basic {expected}":
            self.refused += 1
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if not re.fullmatch(r"\+[1-9]\d{6,14}", to):
            self.refused += 1
            return 400, {"code": 21211, "message": f"The 'To' number {to} is not a valid phone number.", "status": 400}
        return None

    def provider_url(self, sender: str = "+33100000000", token: str | None = None) -> str:
        """Vigie's provider URL for this account (Apprise's Twilio form, pointed at this server)."""
        return f"twilio://{self.account_sid}:{token or self.auth_token}@{sender.replace('+', '%2B')}/{{to}}?base={self.base}"

    def signed(self, url: str, fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        """A callback to `url` as Twilio sends it: the form body and its headers."""
        return urlencode(fields).encode(), {
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature(self.auth_token, url, list(fields.items()))}


class FakeTwilio(TwilioAccount):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__(account_sid, auth_token)
        self.messages: list[Message] = []
        twilio = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                refused = twilio.refusal(self, MESSAGES, form.get("To", ""))
                if refused:
                    return self._answer(*refused)
                message = Message("SM" + secrets.token_hex(16), form["To"],
                                  form.get("From") or form.get("MessagingServiceSid", ""), form.get("Body", ""),
                                  form.get("StatusCallback"))
                twilio.messages.append(message)
                self._answer(201, {"sid": message.sid, "account_sid": twilio.account_sid, "to": message.to,
                                   "from": message.sender, "body": message.body, "status": "queued",
                                   "num_segments": "1", "direction": "outbound-api"})

        self._listen(Handler)

    def status_callback(self, message: Message, status: str, error_code: str | None = None):
        fields = {"MessageSid": message.sid, "SmsSid": message.sid, "AccountSid": self.account_sid,
                  "MessageStatus": status, "SmsStatus": status, "To": message.to, "From": message.sender,
                  "ApiVersion": "2010-04-01"}
        if error_code:
            fields["ErrorCode"] = error_code
        assert message.status_callback, "the message asked for no status callback"
        return (message.status_callback, *self.signed(message.status_callback, fields))

    def incoming(self, url: str, sender: str, body: str, to: str = "+33100000000"):
        sid = "SM" + secrets.token_hex(16)
        return sid, self.signed(url, {"MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid,
                                      "From": sender, "To": to, "Body": body, "NumMedia": "0",
                                      "ApiVersion": "2010-04-01"})
