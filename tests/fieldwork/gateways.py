"""Local stand-ins for the invitations' gateways, started by the tests: a real SMTP server (aiosmtpd)
and an HTTP server speaking the SMS gateway's and Zalo ZNS's request and answer shapes
(fieldwork/senders.py). Both record what they were sent, and answer as a test tells them for a
given recipient: a list of answers played in order, then success."""

import json
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from django.test import override_settings

ALL_SENDERS = {"sms": "fieldwork.senders.SmsGatewaySender", "zalo": "fieldwork.senders.ZaloZnsSender",
               "email": "fieldwork.senders.EmailSender"}


def gateway_settings(gateway, **extra):
    """The settings that send SMS and Zalo messages to ``gateway`` (an HttpGateway)."""
    return override_settings(SMS_GATEWAY_URL=gateway.url + "/sms", SMS_GATEWAY_API_KEY="sms-key",
                             ZALO_ZNS_URL=gateway.url, ZALO_ZNS_ACCESS_TOKEN="zalo-token", ZALO_ZNS_TEMPLATE_ID="231",
                             INVITATION_SEND_TIMEOUT=1, INVITATION_SENDERS=ALL_SENDERS, **extra)


class HttpGateway:
    """``script[phone]``: answers for that recipient, in order: ("ok",), ("http", status, body dict),
    ("zns_error", code, message) or ("sleep", seconds). After the script, every answer is a success."""

    def __init__(self):
        self.requests = []  # (path, headers (an email.message.Message), body dict)
        self.script = {}
        self.lock = threading.Lock()
        self.count = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                to = body.get("to") or body.get("phone")
                with gateway.lock:
                    gateway.requests.append((self.path, self.headers, body))  # names case-insensitive
                    gateway.count += 1
                    steps = gateway.script.get(to) or []
                    step = steps.pop(0) if steps else ("ok",)
                    number = gateway.count
                if step[0] == "sleep":
                    time.sleep(step[1])
                    step = ("ok",)
                if step[0] == "http":
                    return self.answer(step[1], step[2])
                zns = self.path.endswith("/message/template")
                if step[0] == "zns_error":
                    return self.answer(200, {"error": step[1], "message": step[2]})
                if zns:
                    return self.answer(200, {"error": 0, "message": "Success", "data": {"msg_id": f"zns-{number}"}})
                return self.answer(200, {"id": f"sms-{number}"})

            def answer(self, status, data):
                raw = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def bodies(self, path_end):
        return [body for path, _headers, body in self.requests if path.endswith(path_end)]


@contextmanager
def http_gateway():
    gateway = HttpGateway()
    thread = threading.Thread(target=gateway.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        gateway.server.shutdown()
        gateway.server.server_close()


class SmtpRecorder:
    """An aiosmtpd handler keeping the messages it accepted; ``refuse[address]`` = (code, text) refuses
    that recipient once per entry in the list."""

    def __init__(self):
        self.messages = []
        self.refuse = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answers = self.refuse.get(address) or []
        if answers:
            code, text = answers.pop(0)
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server():
    handler = SmtpRecorder()
    with socket.socket() as probe:  # a free port (the controller's start-up check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        handler.port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()
