"""A real SMTP server for the tests (aiosmtpd, Debian's python3-aiosmtpd).

Usage: python3 smtp_sink.py HOST PORT DIR

Every message it accepts is parsed with Python's email package and written to DIR as
one JSON file (written to a temporary name, then renamed, so a reader never sees half
a file): envelope sender and recipients, From, To, Subject, the decoded plain-text and
HTML parts, and the raw message. Prints "ready" once it listens.
"""

import asyncio
import email
import email.policy
import json
import os
import sys
import time
import uuid

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "envelope_from": envelope.mail_from,
            "envelope_to": envelope.rcpt_tos,
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "subject": str(msg.get("Subject", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "text": plain.get_content() if plain is not None else "",
            "html": html.get_content() if html is not None else None,
            "raw": raw.decode("utf-8", "replace"),
        }
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex}"
        tmp = os.path.join(self.folder, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.folder, f"{name}.json"))
        return "250 Message accepted for delivery"


def main():
    host, port, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(folder, exist_ok=True)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(Sink(folder), enable_SMTPUTF8=True), host, port)
    )
    print("ready", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
