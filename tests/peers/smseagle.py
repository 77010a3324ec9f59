"""A local SMSEagle gateway: its JSON-RPC send API (`POST /jsonrpc/sms`, method `sms.send_sms`, the
access token in `params`) answering as SMSEagle does (`{"result": {"message_id": N, "status":
"ok"}}` with `responsetype: extended`, or `{"result": "Invalid login or password"}`), and its
« Callback URL » request for an incoming SMS (`sender`, `timestamp` YYYYmmddHHiiss, `text`,
`msgid`, `apikey`)."""

from __future__ import annotations

import json
import time

from tests.peers.http_fake import FakeServer, JsonHandler

TOKEN = "0005gOjCOlMH8F2BP8"


class FakeSmsEagle(FakeServer):
    def __init__(self) -> None:
        self.sent: list[dict] = []  # the params of each accepted send
        self.refused = 0
        self._next_id = 4753
        eagle = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = json.loads(body or b"{}")
                params = call.get("params") or {}
                if self.path != "/jsonrpc/sms" or call.get("method") != "sms.send_sms":
                    return self._answer(200, {"result": "Invalid method"})
                if params.get("access_token") != TOKEN:
                    eagle.refused += 1
                    return self._answer(200, {"result": "Invalid login or password"})
                eagle._next_id += 1
                eagle.sent.append(params)
                self._answer(200, {"result": {"message_id": eagle._next_id, "status": "ok"}})

        self._listen(Handler)

    def provider_url(self, token: str = TOKEN) -> str:
        return f"smseagle://{token}@127.0.0.1:{self.port}/{{to}}"

    @staticmethod
    def callback(sender: str, text: str, msgid: str, apikey: str | None) -> dict[str, str]:
        fields = {"sender": sender, "timestamp": time.strftime("%Y%m%d%H%M%S"), "text": text, "msgid": msgid}
        return fields | ({"apikey": apikey} if apikey is not None else {})
