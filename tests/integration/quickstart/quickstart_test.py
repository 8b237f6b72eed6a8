#!/usr/bin/python3
"""The quick start, end to end: deploy/quickstart.sh (with the programs of
this build tree, a private state folder and free ports) generates the PKI and
configurations, starts a controller and an agent capturing on loopback plus
the sample traffic, and prints the admin password once. Within 60 s of the
start, the REST API shows an alert from the rule engine and a YARA alert
from a payload (with the YARA rule in its EVE record); then SIGTERM stops
every process of the quick start and it exits 0.

Needs root (the agent captures on lo): otherwise exit 77 (skipped).
Environment: RAMPART_SOURCE_DIR, RAMPART_BIN (set by ctest).
"""
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
DEADLINE_S = 60


def fail(msg, log=None):
    print("FAIL: " + msg)
    if log is not None:
        print("---- quickstart output ----")
        print("".join(log)[-20000:])
    sys.exit(1)


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("0.0.0.0", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_free(port, kind):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def session_processes(sid):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":  # fields[3]: session id
            pids.append(int(d))
    return pids


class Api:
    def __init__(self, port, cafile):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.cookie = None

    def request(self, method, path, body=None):
        conn = http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=10)
        headers = {"Content-Type": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        cookie = resp.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        conn.close()
        return resp.status, json.loads(data) if data else {}


def main():
    if os.geteuid() != 0:
        print("SKIP: the quick start's agent captures on lo and needs root (CAP_NET_RAW)")
        return SKIP
    src = os.environ.get("RAMPART_SOURCE_DIR") or os.getcwd()
    bindir = os.environ.get("RAMPART_BIN")
    if not bindir or not os.path.exists(os.path.join(bindir, "rampart-agent")):
        fail("RAMPART_BIN must name the build tree's bin/ with rampart-agent, rampart-controller, rampartctl")
    ui_port, agent_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
    probe_port = free_port(socket.SOCK_DGRAM)
    if len({ui_port, agent_port, probe_port}) < 3 or not (
            port_free(ui_port, socket.SOCK_STREAM) and port_free(agent_port, socket.SOCK_STREAM)
            and port_free(probe_port, socket.SOCK_DGRAM)):
        print("SKIP: could not reserve three free ports")
        return SKIP

    tmp = tempfile.mkdtemp(prefix="rampart-quickstart-")
    run = os.path.join(tmp, "run")
    env = dict(os.environ, RAMPART_BIN=bindir, RAMPART_QUICKSTART_DIR=run, RAMPART_UI_PORT=str(ui_port),
               RAMPART_AGENT_PORT=str(agent_port), RAMPART_PROBE_PORT=str(probe_port),
               RAMPART_DEMO_INTERVAL="2", RAMPART_DEMO_ROUNDS="60")
    start = time.monotonic()
    proc = subprocess.Popen(["bash", os.path.join(src, "deploy/quickstart.sh")], env=env, cwd=src,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    log = []
    reader = threading.Thread(target=lambda: log.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        # The password, printed once.
        password = None
        while time.monotonic() - start < DEADLINE_S and password is None:
            m = re.search(r"user: admin  password: (\S+)", "".join(log))
            if m:
                password = m.group(1)
            elif proc.poll() is not None:
                fail("quickstart.sh exited with %s before it was running" % proc.returncode, log)
            else:
                time.sleep(0.2)
        if password is None:
            fail("no admin password printed within %d s" % DEADLINE_S, log)
        if "".join(log).count(password) != 1:
            fail("the admin password is printed more than once", log)
        print("quickstart running after %.1f s" % (time.monotonic() - start))

        # Alerts through the REST API: one from the rules, one from YARA on a payload.
        api = Api(ui_port, os.path.join(run, "pki/ca.crt"))
        logged_in = False
        rule_alert = yara_alert = None
        while time.monotonic() - start < DEADLINE_S and (rule_alert is None or yara_alert is None):
            if proc.poll() is not None:
                fail("quickstart.sh exited with %s while running" % proc.returncode, log)
            try:
                if not logged_in:
                    status, body = api.request("POST", "/api/v1/login", {"user": "admin", "password": password})
                    if status != 200 or not body.get("authenticated"):
                        fail("login with the printed password: %s %s" % (status, body), log)
                    logged_in = True
                status, body = api.request("GET", "/api/v1/alerts?limit=200")
                if status != 200:
                    fail("GET /api/v1/alerts: %s %s" % (status, body), log)
                for row in body["rows"]:
                    if row["signature"].startswith("RAMPART ") and rule_alert is None:
                        rule_alert = row
                    if row["signature"].startswith("YARA RAMPART_Webshell_PHP_Eval_Request") and yara_alert is None:
                        yara_alert = row
            except (OSError, http.client.HTTPException):
                pass  # The UI port is not up yet.
            time.sleep(0.5)
        elapsed = time.monotonic() - start
        if rule_alert is None or yara_alert is None:
            fail("within %d s: rule alert %s, YARA alert %s" % (DEADLINE_S, rule_alert, yara_alert), log)
        print("alerts visible after %.1f s: %r and %r" % (elapsed, rule_alert["signature"], yara_alert["signature"]))
        if rule_alert["site"] != "so-thong-tin" or rule_alert["src_ip"] != "127.0.0.1":
            fail("unexpected rule alert %s" % rule_alert, log)
        status, detail = api.request("GET", "/api/v1/alerts/" + yara_alert["id"])
        if status != 200:
            fail("GET /api/v1/alerts/%s: %s %s" % (yara_alert["id"], status, detail), log)
        yara = detail["eve"]["alert"].get("yara", {})
        if yara.get("rule") != "RAMPART_Webshell_PHP_Eval_Request":
            fail("the YARA alert's EVE record lacks alert.yara.rule: %s" % detail["eve"], log)

        # SIGTERM stops everything cleanly.
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fail("quickstart.sh did not stop within 30 s of SIGTERM", log)
        reader.join(timeout=5)
        out = "".join(log)
        if code != 0:
            fail("quickstart.sh exited with %d after SIGTERM" % code, log)
        for line in ("quickstart: stopped", "agent: stopped", "controller: stopped"):
            if line not in out:
                fail("no '%s' line after SIGTERM" % line, log)
        if "stopped on error" in out:
            fail("a daemon reported an error while stopping", log)
        deadline = time.monotonic() + 10
        left = session_processes(proc.pid)
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = session_processes(proc.pid)
        if left:
            fail("processes of the quick start still running after it exited: %s" % left, log)
        print("PASS: alerts in %.1f s, clean stop" % elapsed)
        return 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in session_processes(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
