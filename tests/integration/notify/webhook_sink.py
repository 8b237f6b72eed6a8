#!/usr/bin/python3
"""A local HTTPS receiver for the IOC webhook. It checks each POST the way
an IOC must: the HMAC-SHA256 signature over "<timestamp>.<body>" with the
shared secret, a timestamp within five minutes, and the idempotency key
(a repeated key is acknowledged but not counted twice). One JSON line per
request goes to LOG: {"key", "valid", "duplicate", "type", "received"}.

usage: webhook_sink.py PORT CERT KEY SECRET_FILE LOG
"""
import hashlib
import hmac
import http.server
import json
import os
import ssl
import sys
import time

PORT, CERT, KEY, SECRET_FILE, LOG = sys.argv[1:6]
SECRET = open(SECRET_FILE, "rb").read().strip()
seen = set()
if os.path.exists(LOG):
    for line in open(LOG):
        rec = json.loads(line)
        if rec.get("valid") and not rec.get("duplicate"):
            seen.add(rec["key"])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        ts = self.headers.get("X-Rampart-Timestamp", "")
        sig = self.headers.get("X-Rampart-Signature", "")
        key = self.headers.get("Idempotency-Key", "")
        expected = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, sig) and ts.isdigit() and abs(time.time() - int(ts)) < 300
        duplicate = valid and key in seen
        doc = {}
        try:
            doc = json.loads(body)
        except ValueError:
            valid = False
        rec = {"key": key, "valid": valid, "duplicate": duplicate, "type": doc.get("type"),
               "id": doc.get("id"), "received": time.time()}
        with open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())
        if valid:
            seen.add(key)
        status = 200 if valid else 401
        out = b'{"ok":true}' if valid else b'{"error":"bad signature"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def main():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(CERT, KEY)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("webhook_sink ready on port %s" % PORT, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
