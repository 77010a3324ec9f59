"""A local Twilio Programmable Voice: the Calls API as Twilio documents it, and its signed callbacks.

`POST /2010-04-01/Accounts/{AccountSid}/Calls.json` with HTTP Basic auth and a form (`To`, `From`,
`Url`, `Method`, `StatusCallback`, `StatusCallbackEvent` repeated, `Timeout`, `MachineDetection`,
`MachineDetectionTimeout`): 201 and the call resource as JSON (`sid` "CA…", `status` "queued"); 401
code 20003 for a wrong account or token; 400 code 21211 for a `To` that is not a number, 21208 for a
`Timeout` that is not a positive whole number, 21201-like for a `MachineDetection` other than
`Enable` or `DetectMessageEnd`.

What Twilio does next is played by the test with the callbacks built here, as Twilio sends them
(form fields, `X-Twilio-Signature` over the URL called): the pick-up fetching `Url`, a key posted
to the `<Gather>`'s `action`, the call's status posted to `StatusCallback`. With answering machine
detection asked (synchronous, as Vigie asks it), Twilio fetches `Url` only once it knows who
answered and says so in `AnsweredBy` (human, machine_start, fax, unknown…), there and in the status
callbacks that follow; without it, no `AnsweredBy` at all.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from tests.peers.http_fake import JsonHandler
from tests.peers.twilio import ACCOUNT_SID, AUTH_TOKEN, TwilioAccount

CALLS = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Calls\.json$")


@dataclass
class Call:
    sid: str
    to: str
    sender: str
    url: str
    method: str
    status_callback: str
    status_events: list[str]
    timeout: str
    form: list[tuple[str, str]] = field(default_factory=list)
    machine_detection: str = ""
    machine_detection_timeout: str = "30"  # Twilio's default
    answered_by: str = ""  # what the detection found, once the call was picked up


class FakeTwilioVoice(TwilioAccount):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__(account_sid, auth_token)
        self.calls: list[Call] = []
        twilio = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
                fields = dict(form)
                refused = twilio.refusal(self, CALLS, fields.get("To", ""))
                if refused:
                    return self._answer(*refused)
                if not fields.get("Url"):
                    twilio.refused += 1
                    return self._answer(400, {"code": 21205, "message": "Url parameter is required.", "status": 400})
                if not re.fullmatch(r"[1-9]\d{0,2}", fields.get("Timeout", "60")) or int(fields.get("Timeout", "60")) > 600:
                    twilio.refused += 1
                    return self._answer(400, {"code": 21208, "message": "Invalid Timeout", "status": 400})
                if fields.get("MachineDetection", "Enable") not in ("Enable", "DetectMessageEnd"):
                    twilio.refused += 1
                    return self._answer(400, {"code": 21201, "message": "Invalid MachineDetection", "status": 400})
                call = Call("CA" + secrets.token_hex(16), fields["To"], fields.get("From", ""), fields["Url"],
                            fields.get("Method", "POST"), fields.get("StatusCallback", ""),
                            [value for name, value in form if name == "StatusCallbackEvent"],
                            fields.get("Timeout", "60"), form, fields.get("MachineDetection", ""),
                            fields.get("MachineDetectionTimeout", "30"))
                twilio.calls.append(call)
                self._answer(201, {"sid": call.sid, "account_sid": twilio.account_sid, "to": call.to,
                                   "from": call.sender, "status": "queued", "direction": "outbound-api"})

        self._listen(Handler)

    def _fields(self, call: Call, status: str) -> dict[str, str]:
        fields = {"CallSid": call.sid, "AccountSid": self.account_sid, "From": call.sender, "To": call.to,
                  "CallStatus": status, "Direction": "outbound-api", "ApiVersion": "2010-04-01"}
        if call.machine_detection and call.answered_by:
            fields["AnsweredBy"] = call.answered_by
        return fields

    def pick_up(self, call: Call, answered_by: str = "human"):
        """The call answered: Twilio fetches its `Url` (once its detection says by whom, if asked)."""
        call.answered_by = answered_by
        return (call.url, *self.signed(call.url, self._fields(call, "in-progress")))

    def press(self, call: Call, action: str, digits: str):
        """A key pressed during a `<Gather>`: Twilio posts it to the gather's `action`."""
        return (action, *self.signed(action, {**self._fields(call, "in-progress"), "Digits": digits,
                                                      "FinishedOnKey": ""}))

    def status(self, call: Call, status: str, duration: int = 0):
        fields = {**self._fields(call, status), "CallDuration": str(duration), "Timestamp": "Sat, 05 Dec 2026"}
        return (call.status_callback, *self.signed(call.status_callback, fields))
