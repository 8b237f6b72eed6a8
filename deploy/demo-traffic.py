#!/usr/bin/python3
"""Sample traffic on the loopback interface, so that a fresh quick start
(deploy/quickstart.sh) has alerts to show.

It serves HTTP on 127.0.0.1 (an ephemeral port unless --port is given) and,
once per round, sends the requests below to itself, each on a new
connection. Everything stays on 127.0.0.1; nothing is sent anywhere else.
What the agent's starter rules make of a round:

  - a request with sqlmap's User-Agent and a UNION SELECT in the URI
    (rules/network/user-agents.rules sid 4100101, web.rules sid 4100404);
  - a request whose URI climbs out of the web root with ../ (web.rules
    sid 4100403);
  - a download of a PHP page that evaluates request data: a YARA alert
    (rules/yara/webshells.yar RAMPART_Webshell_PHP_Eval_Request) when
    agent.yara.network has the rules. The page is an inert one-liner.

The loop is bounded: --rounds rounds, --interval seconds apart, then it
exits 0. SIGTERM or Ctrl-C stops it at once.

usage: demo-traffic.py [--interval SECONDS] [--rounds N] [--delay SECONDS] [--port PORT]
"""
import argparse
import http.client
import http.server
import signal
import sys
import threading
import time

WEBSHELL = (b"<html><body>\n<?php @eval(base64_decode($_POST['c'])); ?>\n"
            b"<p>Rampart quick start: sample page for the YARA network rules.</p>\n</body></html>\n")
PAGE = b"<html><body><p>Rampart quick start: sample page.</p></body></html>\n"

REQUESTS = [
    # (method, path, headers)
    ("GET", "/products.php?id=1%20UNION%20SELECT%20username,password%20FROM%20users--",
     {"User-Agent": "sqlmap/1.7.2#stable (https://sqlmap.org)"}),
    ("GET", "/static/../../../../etc/passwd", {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) rampart-demo"}),
    ("GET", "/uploads/shell.php", {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) rampart-demo"}),
]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo-traffic"
    sys_version = ""

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = WEBSHELL if self.path.startswith("/uploads/") else PAGE
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def one_round(port):
    sent = 0
    for method, path, headers in REQUESTS:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request(method, path, headers=dict(headers, Connection="close"))
            conn.getresponse().read()
            sent += 1
        except OSError as e:
            print("demo-traffic: request failed: %s" % e, file=sys.stderr, flush=True)
        finally:
            conn.close()
    return sent


def main():
    ap = argparse.ArgumentParser(description="Sample traffic on 127.0.0.1 for the quick start")
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between rounds (default 10)")
    ap.add_argument("--rounds", type=int, default=360, help="rounds before exiting (default 360: an hour)")
    ap.add_argument("--delay", type=float, default=2.0, help="seconds before the first round (default 2)")
    ap.add_argument("--port", type=int, default=0, help="HTTP port on 127.0.0.1 (default: any free port)")
    args = ap.parse_args()
    if args.interval <= 0 or args.rounds < 1 or args.delay < 0:
        ap.error("--interval must be > 0, --rounds >= 1, --delay >= 0")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("demo-traffic: serving on 127.0.0.1:%d; %d rounds every %gs" % (port, args.rounds, args.interval),
          flush=True)
    total = 0
    rounds = 0
    if not stop.wait(args.delay):
        while rounds < args.rounds:
            total += one_round(port)
            rounds += 1
            if stop.wait(args.interval):
                break
    server.shutdown()
    print("demo-traffic: %d rounds, %d requests" % (rounds, total), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
