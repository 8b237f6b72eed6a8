#!/usr/bin/python3
"""YARA on network payloads in the daemon (agent.yara.network).

1. `rampart-agent check-config` reports each problem of the section with its
   key path and line: a missing rule file, YARA without the network sensor,
   nothing to scan, a misspelt key; a full section beside the host sensors'
   agent.yara keys is accepted.
2. `rampart-agent run` capturing on lo (root; else exit 77), with a network
   rule (agent.detect) and a YARA rule for network use: an HTTP download
   whose body carries the YARA string raises an EVE alert with alert.yara
   (rule, meta, buffer) and a signature id in the YARA range; the rule engine
   alerts on the same traffic (both inspectors run); a download without the
   string raises no YARA alert; SIGTERM stops the daemon with exit 0.

Environment: RAMPART_BIN (set by ctest).
"""
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SKIP = 77
MARKER = b"RAMPART-NET-PAYLOAD-7f3a9c-MARKER"

YARA_RULE = """
rule Rampart_Test_Network_Payload : test network
{
  meta:
    description = "test marker in a network payload"
    severity = 5
  strings:
    $m = "RAMPART-NET-PAYLOAD-7f3a9c-MARKER"
  condition:
    $m
}
"""
NETWORK_RULE = ('alert http any any -> any any (msg:"TEST request for the YARA payload page"; '
                'flow:established,to_server; http.uri; content:"/payload/"; sid:9900001; rev:1;)\n')


def fail(msg, log_path=None):
    print("FAIL: " + msg)
    if log_path and os.path.exists(log_path):
        print("---- agent log ----")
        print(open(log_path).read()[-10000:])
    sys.exit(1)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def check_config(agent, path):
    r = subprocess.run([agent, "check-config", "--config", path], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def config_errors(agent, tmp):
    rules = os.path.join(tmp, "net.yar")
    cases = [
        ("missing rule file",
         "agent:\n  data_dir: %s/d\n  capture: {enabled: true, interface: lo}\n"
         "  yara:\n    network:\n      rules: [%s/nope.yar]\n" % (tmp, tmp),
         "agent.yara.network.rules: '%s/nope.yar': no such file or folder (line 6)" % tmp),
        ("no network sensor",
         "agent:\n  data_dir: %s/d\n  yara:\n    network:\n      rules: [%s]\n" % (tmp, rules),
         "agent.yara.network.rules: YARA on network payloads needs the network sensor (agent.capture.enabled) (line 5)"),
        ("nothing to scan",
         "agent:\n  data_dir: %s/d\n  capture: {enabled: true, interface: lo}\n"
         "  yara:\n    network:\n      rules: [%s]\n      stream_depth: 0\n      http_body_depth: 0\n" % (tmp, rules),
         "agent.yara.network.stream_depth: stream_depth and http_body_depth are both 0: nothing would be scanned (line 7)"),
        ("misspelt key",
         "agent:\n  data_dir: %s/d\n  capture: {enabled: true, interface: lo}\n"
         "  yara:\n    network:\n      rules: [%s]\n      stream_dpth: 1MiB\n" % (tmp, rules),
         "agent.yara.network.stream_dpth: unknown key; did you mean 'stream_depth'? (line 7)"),
        ("bad size",
         "agent:\n  data_dir: %s/d\n  capture: {enabled: true, interface: lo}\n"
         "  yara:\n    network:\n      rules: [%s]\n      http_body_depth: lots\n" % (tmp, rules),
         "agent.yara.network.http_body_depth"),
    ]
    for name, text, expected in cases:
        path = os.path.join(tmp, "bad.yaml")
        write(path, text)
        code, out = check_config(agent, path)
        if code == 0 or expected not in out:
            fail("check-config, %s: exit %d, expected %r in:\n%s" % (name, code, expected, out))
        print("check-config rejects %s: %s" % (name, expected))
    # The host sensors' keys and the network section side by side.
    path = os.path.join(tmp, "good.yaml")
    write(path, "agent:\n  data_dir: %s/d\n  capture: {enabled: true, interface: lo}\n"
                "  yara:\n    rules: [%s]\n    externals: {env: test}\n    scan: {paths: [], interval: 1h}\n"
                "    network:\n      rules: [net.yar]\n      stream_depth: 64KiB\n      stream_context: 1KiB\n"
                "      http_body_depth: 256KiB\n      timeout: 2s\n" % (tmp, rules))
    code, out = check_config(agent, path)
    if code != 0:
        fail("check-config of a valid agent.yara.network section: exit %d:\n%s" % (code, out))
    print("check-config accepts agent.yara with network beside the host keys")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/payload/"):
            body = b"<html>before " + MARKER + b" after</html>\n"
        else:
            body = b"<html>nothing to see</html>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def read_eve(path):
    recs = []
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


def daemon(agent, tmp):
    if os.geteuid() != 0:
        print("SKIP: the daemon part captures on lo and needs root (CAP_NET_RAW)")
        return SKIP
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    eve = os.path.join(tmp, "eve.json")
    write(os.path.join(tmp, "test.rules"), NETWORK_RULE)
    cfg = os.path.join(tmp, "agent.yaml")
    write(cfg, "agent:\n  name: yara-net-test\n  data_dir: %s/data\n  log: {level: info}\n"
               "  capture:\n    enabled: true\n    interface: lo\n    bpf_filter: \"tcp port %d\"\n"
               "    immediate: true\n    checksum_checks: none\n    eve_file: %s\n"
               "  detect:\n    rule_files: [test.rules]\n"
               "  yara:\n    network:\n      rules: [net.yar]\n      stream_depth: 64KiB\n      http_body_depth: 64KiB\n"
               % (tmp, port, eve))
    log_path = os.path.join(tmp, "agent.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([agent, "run", "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "capture: capturing" not in open(log_path).read():
            if proc.poll() is not None or time.monotonic() > deadline:
                fail("the agent did not start capturing (exit %s)" % proc.poll(), log_path)
            time.sleep(0.1)
        for path in ("/payload/download.html", "/clean/index.html"):
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
                r.read()
        # Alerts are written as the packets are analysed; the flow records
        # follow when the daemon stops.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            alerts = [r for r in read_eve(eve) if r.get("event_type") == "alert"]
            if any("yara" in a["alert"] for a in alerts) and any(a["alert"]["signature_id"] == 9900001 for a in alerts):
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fail("the agent did not stop within 30 s of SIGTERM", log_path)
        if code != 0:
            fail("the agent exited %d after SIGTERM" % code, log_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.shutdown()

    recs = read_eve(eve)
    http_flows = {r["http"]["url"]: r["flow_id"] for r in recs if r.get("event_type") == "http"}
    if "/payload/download.html" not in http_flows or "/clean/index.html" not in http_flows:
        fail("http records for both downloads expected, got %s" % sorted(http_flows), log_path)
    alerts = [r for r in recs if r.get("event_type") == "alert"]
    yara_alerts = [a for a in alerts if "yara" in a["alert"]]
    if not yara_alerts:
        fail("no YARA alert in %s" % [a["alert"].get("signature") for a in alerts], log_path)
    for a in yara_alerts:
        y = a["alert"]["yara"]
        if y.get("rule") != "Rampart_Test_Network_Payload" or a["flow_id"] != http_flows["/payload/download.html"]:
            fail("unexpected YARA alert %s" % json.dumps(a), log_path)
        if not 3_000_000_000 <= a["alert"]["signature_id"] <= 3_999_999_999:
            fail("YARA alert signature id out of range: %s" % a["alert"]["signature_id"], log_path)
        if y.get("meta", {}).get("description") != "test marker in a network payload" or not y.get("buffer"):
            fail("YARA alert without meta or buffer: %s" % json.dumps(y), log_path)
    buffers = sorted({a["alert"]["yara"]["buffer"] for a in yara_alerts})
    print("YARA alerts on the payload flow, buffers %s: %s" % (buffers, yara_alerts[0]["alert"]["signature"]))
    rule_alerts = [a for a in alerts if a["alert"]["signature_id"] == 9900001]
    if len(rule_alerts) != 1 or rule_alerts[0]["flow_id"] != http_flows["/payload/download.html"]:
        fail("expected one rule-engine alert (sid 9900001) on the payload flow, got %s" % rule_alerts, log_path)
    print("rule engine alert beside YARA: sid 9900001")
    stop_line = [l for l in open(log_path) if "network payload scans" in l]
    if not stop_line or "alerts=0" in stop_line[0]:
        fail("no YARA counters logged at stop", log_path)
    return 0


def main():
    bindir = os.environ.get("RAMPART_BIN")
    if not bindir:
        fail("RAMPART_BIN must name the build tree's bin/")
    agent = os.path.join(bindir, "rampart-agent")
    tmp = tempfile.mkdtemp(prefix="rampart-yara-net-")
    try:
        write(os.path.join(tmp, "net.yar"), YARA_RULE)
        config_errors(agent, tmp)
        code = daemon(agent, tmp)
        if code == 0:
            print("PASS")
        return code
    finally:
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
