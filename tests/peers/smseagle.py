"""A local SMSEagle gateway: its JSON-RPC send API (`POST /jsonrpc/sms`, method `sms.send_sms`, the
access token in `params`) answering as SMSEagle does (`{"result": {"message_id": N, "status":
"ok"}}` with `responsetype: extended`, or `{"result": "Invalid login or password"}`), and its
« Callback URL » request for an incoming SMS (`sender`, `timestamp` YYYYmmddHHiiss, `text`,
`msgid`, `apikey`)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "0005gOjCOlMH8F2BP8"


class FakeSmsEagle:
    def __init__(self) -> None:
        self.sent: list[dict] = []  # the params of each accepted send
        self.refused = 0
        self._next_id = 4753
        eagle = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = json.loads(body or b"{}")
                params = call.get("params") or {}
                if self.path != "/jsonrpc/sms" or call.get("method") != "sms.send_sms":
                    return self._answer({"result": "Invalid method"})
                if params.get("access_token") != TOKEN:
                    eagle.refused += 1
                    return self._answer({"result": "Invalid login or password"})
                eagle._next_id += 1
                eagle.sent.append(params)
                self._answer({"result": {"message_id": eagle._next_id, "status": "ok"}})

            def _answer(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def provider_url(self, token: str = TOKEN) -> str:
        return f"smseagle://{token}@127.0.0.1:{self._server.server_address[1]}/{{to}}"

    @staticmethod
    def callback(sender: str, text: str, msgid: str, apikey: str | None) -> dict[str, str]:
        fields = {"sender": sender, "timestamp": time.strftime("%Y%m%d%H%M%S"), "text": text, "msgid": msgid}
        return fields | ({"apikey": apikey} if apikey is not None else {})

    def __enter__(self) -> FakeSmsEagle:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
