#!/usr/bin/env python3
"""A loopback SMTP server for essor's tests and mail bench, built on aiosmtpd.

Every message it accepts becomes one JSON file in --out (written whole, then renamed, so a
reader never sees half a file): envelope sender and recipients, and the decoded Message-ID,
Subject, To, plain-text and HTML parts. It prints "READY <port>" once it listens, and exits
when its standard input closes (so it never outlives the test that started it).

    python3 tests/support/smtp_sink.py --port 0 --out /tmp/mails [--fail-first 3 --fail-code 451]

With --count-only (the mail bench) it keeps nothing and prints "RECEIVED <n>" after each
message instead, so the sink costs as little as it can.
"""

import argparse
import asyncio
import json
import os
import sys
import threading
import uuid
from email import message_from_bytes, policy

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out, fail_first, fail_code, keep_raw, count_only):
        self.out = out
        self.to_fail = fail_first
        self.fail_code = fail_code
        self.keep_raw = keep_raw
        self.count_only = count_only
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        if self.to_fail > 0:
            self.to_fail -= 1
            if self.fail_code.startswith("5"):
                return f"{self.fail_code} 5.7.1 Refused by the test sink"
            return f"{self.fail_code} 4.3.0 Try again later (test sink)"
        if self.count_only:
            self.received += 1
            print(f"RECEIVED {self.received}", flush=True)
            return "250 2.0.0 Message accepted for delivery"
        raw = envelope.original_content or envelope.content
        msg = message_from_bytes(raw, policy=policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "message_id": str(msg.get("Message-ID", "")).strip(),
            "subject": str(msg.get("Subject", "")),
            "to": str(msg.get("To", "")),
            "from": str(msg.get("From", "")),
            "auto_submitted": str(msg.get("Auto-Submitted", "")),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        if self.keep_raw:
            record["raw"] = raw.decode("utf-8", "replace")
        name = uuid.uuid4().hex
        tmp = os.path.join(self.out, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(tmp, os.path.join(self.out, f"{name}.json"))
        return "250 2.0.0 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fail-code", default="451")
    parser.add_argument("--raw", action="store_true", help="keep the raw message in the JSON")
    parser.add_argument("--count-only", action="store_true", help="keep nothing, count")
    args = parser.parse_args()
    if not args.count_only:
        if not args.out:
            parser.error("--out is required (unless --count-only)")
        os.makedirs(args.out, exist_ok=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()

    async def serve():
        loop = asyncio.get_running_loop()
        handler = Sink(args.out, args.fail_first, args.fail_code, args.raw, args.count_only)
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="sink.essor.test", enable_SMTPUTF8=True),
            host=args.host,
            port=args.port,
        )
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
