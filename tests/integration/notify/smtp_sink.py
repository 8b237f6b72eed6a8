#!/usr/bin/python3
"""A real SMTP server (aiosmtpd) that requires STARTTLS and stores each
message it accepts as DIR/NNNN.eml before answering 250.

usage: smtp_sink.py PORT CERT KEY DIR
"""
import asyncio
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.count = len([n for n in os.listdir(directory) if n.endswith(".eml")])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.directory, "%06d-%d.eml" % (self.count, os.getpid()))
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"X-Tls: %s\r\n" % (b"yes" if session.ssl else b"no"))
            f.write(envelope.original_content or envelope.content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
        return "250 Message accepted"


def main():
    port, cert, key, directory = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    controller = Controller(Store(directory), hostname="127.0.0.1", port=port, tls_context=ctx,
                            require_starttls=True)
    controller.start()
    print("smtp_sink ready on port %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    main()
