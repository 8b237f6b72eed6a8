#!/usr/bin/python3
"""End to end: from a packet entering the agent to the IOC webhook arriving.

Real processes on this machine: rampart-controller (its CA, agent port,
store and a webhook route to a local HTTPS receiver in this script, which
checks the HMAC signature as an IOC would), and an enrolled
`rampart-agent run` capturing on lo with one rule. The bench sends UDP
datagrams to 127.0.0.1 at a fixed rate, each from its own source port, and
records the time just before each send; the receiver records when each
webhook POST has been read and finds its datagram by the alert's source
port. It prints p50/p95/p99/max of the difference (same clock), and how
many never arrived.

Path measured: capture (libpcap on lo) -> decode -> rule match -> EVE alert
-> agent spool (RocksDB, fsynced) -> gRPC stream with mTLS -> controller
ingest -> store (durable) -> routing -> notify outbox (synced) -> HTTPS POST
with HMAC -> receiver.

usage: e2e_bench.py [--bin DIR] [--count N] [--rate R] [--immediate] [--keep DIR]
  --bin        programs (default: build/release/bin of this checkout)
  --count      measured datagrams (default 300), after 5 warm-up ones
  --rate       datagrams per second (default 5)
  --immediate  the agent's capture delivers every packet at once
               (agent.capture.immediate: true; default: the ring's block timeout)
Needs root (capture on lo); exits 77 otherwise. Runs at most
count/rate + 90 s; everything it starts is stopped before it returns.
"""
import argparse
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
SECRET = b"e2e-bench-shared-secret-0123456789abcdef"


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    arrivals = {}      # src_port -> arrival time (first valid delivery)
    invalid = 0
    duplicates = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        now = time.time()
        ts = self.headers.get("X-Rampart-Timestamp", "")
        sig = self.headers.get("X-Rampart-Signature", "")
        expected = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, sig)
        with Receiver.lock:
            if not ok:
                Receiver.invalid += 1
            else:
                doc = json.loads(body)
                if doc.get("type") == "alert":
                    port = doc["alert"]["src_port"]
                    if port in Receiver.arrivals:
                        Receiver.duplicates += 1
                    else:
                        Receiver.arrivals[port] = now
        out = b'{"ok":true}' if ok else b'{"error":"bad signature"}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def wait_for(path, text, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and text in open(path).read():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(root, "build/release/bin"))
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--immediate", action="store_true")
    ap.add_argument("--keep", default="", help="keep logs and state in this folder")
    args = ap.parse_args()
    if args.count < 1 or args.count > 100000 or args.rate <= 0 or args.rate > 10000:
        ap.error("--count must be 1..100000 and --rate 0..10000")
    if os.geteuid() != 0:
        print("skipped: the agent captures on lo and needs root (CAP_NET_RAW)")
        return SKIP
    binp = lambda name: os.path.join(args.bin, name)
    for name in ("rampart-agent", "rampart-controller", "rampartctl"):
        if not os.access(binp(name), os.X_OK):
            print("e2e_bench: %s not found; build it or pass --bin" % binp(name), file=sys.stderr)
            return 2

    tmp = args.keep or tempfile.mkdtemp(prefix="rampart-e2e-")
    os.makedirs(tmp, exist_ok=True)
    procs = []
    server = None
    try:
        pki = os.path.join(tmp, "pki")
        subprocess.run([binp("rampartctl"), "pki", "init", "--dir", pki, "--host", "localhost", "--host", "127.0.0.1"],
                       check=True, capture_output=True)
        with open(os.path.join(tmp, "hook.key"), "wb") as f:
            f.write(SECRET)
        os.chmod(os.path.join(tmp, "hook.key"), 0o600)

        # The IOC: an HTTPS receiver with the controller's server certificate.
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.path.join(pki, "server.crt"), os.path.join(pki, "server.key"))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        server.daemon_threads = True
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        hook_port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()

        ui_port, agent_port, probe_port = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
        target_port = free_port(socket.SOCK_DGRAM)
        ctl_cfg = os.path.join(tmp, "controller.yaml")
        with open(ctl_cfg, "w") as f:
            f.write(f"""controller:
  name: e2e-controller
  data_dir: {tmp}/controller
  log: {{level: info}}
  web: {{address: 127.0.0.1, port: {ui_port}, cert_file: {pki}/server.crt, key_file: {pki}/server.key}}
  agents: {{listen: "127.0.0.1:{agent_port}", pki_dir: {pki}}}
  links: {{reflector: "127.0.0.1:{probe_port}"}}
  notify:
    targets:
      - {{name: ioc, kind: webhook, url: "https://localhost:{hook_port}/hook", secret_file: {tmp}/hook.key,
         ca_file: {pki}/ca.crt}}
    routes:
      - {{name: every-alert, targets: [ioc]}}
""")
        ctl_log = os.path.join(tmp, "controller.log")
        procs.append(subprocess.Popen([binp("rampart-controller"), "run", "--config", ctl_cfg],
                                      stdout=open(ctl_log, "w"), stderr=subprocess.STDOUT))
        if not wait_for(ctl_log, "admin: listening", procs[-1], 30):
            print("e2e_bench: the controller did not start:\n" + open(ctl_log).read(), file=sys.stderr)
            return 1

        with open(os.path.join(tmp, "e2e.rules"), "w") as f:
            f.write('alert udp any any -> any %d (msg:"RAMPART BENCH end-to-end probe"; content:"rampart-e2e-"; '
                    'depth:12; classtype:misc-activity; sid:9900100; rev:1;)\n' % target_port)
        agent_cfg = os.path.join(tmp, "agent.yaml")
        with open(agent_cfg, "w") as f:
            f.write(f"""agent:
  name: e2e-agent
  site: e2e
  data_dir: {tmp}/agent
  log: {{level: info}}
  controller: {{address: "127.0.0.1:{agent_port}"}}
  capture:
    enabled: true
    interface: lo
    bpf_filter: "udp dst port {target_port}"
    immediate: {"true" if args.immediate else "false"}
    checksum_checks: none
  detect:
    rule_files: [{tmp}/e2e.rules]
""")
        token = subprocess.run([binp("rampartctl"), "token", "create", "--site", "e2e", "--ttl", "10m",
                                "--data-dir", os.path.join(tmp, "controller")],
                               check=True, capture_output=True, text=True).stdout.strip()
        fp = subprocess.run([binp("rampartctl"), "pki", "fingerprint", os.path.join(pki, "ca.crt")],
                            check=True, capture_output=True, text=True).stdout.strip()
        token_file = os.path.join(tmp, "token")
        with open(token_file, "w") as f:
            f.write(token + "\n")
        subprocess.run([binp("rampart-agent"), "enroll", "--controller", "127.0.0.1:%d" % agent_port,
                        "--token-file", token_file, "--ca-sha256", fp, "--config", agent_cfg],
                       check=True, capture_output=True)
        agent_log = os.path.join(tmp, "agent.log")
        procs.append(subprocess.Popen([binp("rampart-agent"), "run", "--config", agent_cfg],
                                      stdout=open(agent_log, "w"), stderr=subprocess.STDOUT))
        if not (wait_for(agent_log, "capture: capturing", procs[-1], 30)
                and wait_for(agent_log, "connected to the controller", procs[-1], 30)):
            print("e2e_bench: the agent did not start:\n" + open(agent_log).read(), file=sys.stderr)
            return 1

        def send(port_from):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind(("127.0.0.1", port_from))
            except OSError:
                s.close()
                return None
            t = time.time()
            s.sendto(b"rampart-e2e-%d" % port_from, ("127.0.0.1", target_port))
            s.close()
            return t

        # Source ports: one per datagram, from a range clear of the ephemeral one.
        ports = iter(range(20000, 32000))
        warm = []
        for _ in range(5):
            p = next(ports)
            if send(p) is not None:
                warm.append(p)
            time.sleep(0.2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(p in Receiver.arrivals for p in warm):
            time.sleep(0.1)
        if not all(p in Receiver.arrivals for p in warm):
            print("e2e_bench: warm-up alerts did not reach the webhook within 30 s", file=sys.stderr)
            print(open(agent_log).read()[-3000:] + open(ctl_log).read()[-3000:], file=sys.stderr)
            return 1

        sent = {}
        interval = 1.0 / args.rate
        start = time.monotonic()
        for i in range(args.count):
            target = start + i * interval
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            while True:
                p = next(ports)
                t = send(p)
                if t is not None:
                    sent[p] = t
                    break
        drain = time.monotonic() + 30
        while time.monotonic() < drain:
            with Receiver.lock:
                if all(p in Receiver.arrivals for p in sent):
                    break
            time.sleep(0.1)
        with Receiver.lock:
            lat = sorted((Receiver.arrivals[p] - t) * 1000.0 for p, t in sent.items() if p in Receiver.arrivals)
            invalid, duplicates = Receiver.invalid, Receiver.duplicates
        lost = len(sent) - len(lat)
        print("end to end: packet sent on lo -> agent (capture, rule, spool, gRPC+mTLS) -> controller "
              "(ingest, store, route, outbox) -> HTTPS webhook verified")
        print("  capture immediate=%s, %d datagrams at %g/s, %d arrived, %d missing, %d duplicate, %d bad signature"
              % ("true" if args.immediate else "false", len(sent), args.rate, len(lat), lost, duplicates, invalid))
        print("  latency ms: p50 %.1f  p95 %.1f  p99 %.1f  max %.1f  (goal p99 <= 1000)"
              % (percentile(lat, 50), percentile(lat, 95), percentile(lat, 99), lat[-1] if lat else float("nan")))
        return 0 if lost == 0 else 1
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if server is not None:
            server.shutdown()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
