"""A small WAN in network namespaces for the transport's system tests.

    controller ns (10.9.9.9 on lo) --veth-- site router A --bridge-- agents a1, a2
                                   --veth-- site router B --bridge-- agent a3

Each site has a router namespace, so cutting a site's WAN link is
`ip link set <router's wan> down` and loss is an iptables rule in the
router's FORWARD chain, exactly as on a real agency link. Everything is
removed on exit, also after a failure.
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
CONTROLLER_IP = "10.9.9.9"


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def run(args, check=True, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(SKIP)


def binaries():
    bin_dir = os.environ.get("RAMPART_BIN")
    if not bin_dir:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        bin_dir = os.path.join(root, "build", "release", "bin")
    paths = {n: os.path.join(bin_dir, n) for n in ("rampart-agent", "rampart-controller", "rampartctl")}
    for n, p in paths.items():
        if not os.access(p, os.X_OK):
            raise RuntimeError("%s not built (%s)" % (n, p))
    return paths


class Process:
    """A daemon in a namespace, its output in a log file."""

    def __init__(self, ns, args, log_path):
        self.args = args
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns] + args, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            # `ip netns exec` execs the program, so this pid is the daemon's.
            os.kill(self.proc.pid, sig)

    def wait(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.wait(timeout=10)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.kill(signal.SIGTERM)
            self.wait(20)
        self.log.close()


class Lab:
    """Namespaces, PKI, a controller and agents, and helpers to observe them."""

    def __init__(self, name, sites=(("site-a", ("a1", "a2")), ("site-b", ("a3",)))):
        if os.geteuid() != 0:
            skip("needs root to create network namespaces (CI runs as root)")
        for tool in ("ip", "iptables"):
            if shutil.which(tool) is None:
                skip("%s is not installed (deploy/install-deps.sh installs it)" % tool)
        self.bin = binaries()
        self.tag = "rt%d" % (os.getpid() % 100000)
        self.dir = tempfile.mkdtemp(prefix="rampart-%s-" % name)
        os.chmod(self.dir, 0o700)
        self.namespaces = []
        self.processes = []
        self.sites = dict(sites)
        self.agents = {}  # name -> {"ns", "site", "ip", "dir", "proc", "id", "eve"}
        self.controller = None
        atexit.register(self.close)
        try:
            self._net()
        except RuntimeError as e:
            self.close()
            skip("cannot build the namespace network: %s" % e)

    # --- network ---------------------------------------------------------

    def ns(self, role):
        return "%s-%s" % (self.tag, role)

    def _add_ns(self, role):
        n = self.ns(role)
        run(["ip", "netns", "add", n])
        self.namespaces.append(n)
        run(["ip", "-n", n, "link", "set", "lo", "up"])
        return n

    def _net(self):
        c = self._add_ns("ctl")
        run(["ip", "-n", c, "addr", "add", CONTROLLER_IP + "/32", "dev", "lo"])
        for i, (site, agents) in enumerate(self.sites.items(), start=1):
            r = self._add_ns("r%d" % i)
            wan_c, wan_r = "%sc%d" % (self.tag, i), "%sw%d" % (self.tag, i)
            run(["ip", "link", "add", wan_c, "netns", c, "type", "veth", "peer", "name", wan_r, "netns", r])
            run(["ip", "-n", c, "addr", "add", "10.%d.0.1/30" % i, "dev", wan_c])
            run(["ip", "-n", r, "addr", "add", "10.%d.0.2/30" % i, "dev", wan_r])
            run(["ip", "-n", c, "link", "set", wan_c, "up"])
            run(["ip", "-n", r, "link", "set", wan_r, "up"])
            run(["ip", "-n", c, "route", "add", "10.%d.1.0/24" % i, "via", "10.%d.0.2" % i])
            run(["ip", "-n", r, "route", "add", "default", "via", "10.%d.0.1" % i])
            run(["ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
            br = "br%d" % i
            run(["ip", "-n", r, "link", "add", br, "type", "bridge"])
            run(["ip", "-n", r, "addr", "add", "10.%d.1.1/24" % i, "dev", br])
            run(["ip", "-n", r, "link", "set", br, "up"])
            for j, agent in enumerate(agents, start=1):
                a = self._add_ns(agent)
                host_if, agent_if = "%sh%d%d" % (self.tag, i, j), "eth0"
                run(["ip", "link", "add", host_if, "netns", r, "type", "veth", "peer", "name", agent_if, "netns", a])
                run(["ip", "-n", r, "link", "set", host_if, "master", br, "up"])
                ip = "10.%d.1.%d" % (i, 10 + j)
                run(["ip", "-n", a, "addr", "add", ip + "/24", "dev", agent_if])
                run(["ip", "-n", a, "link", "set", agent_if, "up"])
                run(["ip", "-n", a, "route", "add", "default", "via", "10.%d.1.1" % i])
                self.agents[agent] = {"ns": a, "site": site, "ip": ip, "router": r, "wan": wan_r,
                                      "dir": os.path.join(self.dir, agent)}
            self.sites[site] = {"router": r, "wan": wan_r, "agents": list(agents), "ctl_if": wan_c, "index": i}
        # Every agent has a route to the controller's service address.
        for a in self.agents.values():
            run(["ip", "-n", a["ns"], "route", "get", CONTROLLER_IP])

    def cut(self, site, down=True):
        s = self.sites[site]
        run(["ip", "-n", s["router"], "link", "set", s["wan"], "down" if down else "up"])
        if not down:
            # Taking a link down removes the static routes through it; the
            # router's configuration puts them back when it returns.
            i = s["index"]
            run(["ip", "-n", s["router"], "route", "replace", "default", "via", "10.%d.0.1" % i])
            run(["ip", "-n", self.ns("ctl"), "route", "replace", "10.%d.1.0/24" % i, "via", "10.%d.0.2" % i])

    def loss(self, site, probability):
        s = self.sites[site]
        if probability > 0:
            run(["ip", "netns", "exec", s["router"], "iptables", "-A", "FORWARD", "-m", "statistic", "--mode",
                 "random", "--probability", str(probability), "-j", "DROP"])
        else:
            run(["ip", "netns", "exec", s["router"], "iptables", "-F", "FORWARD"])

    # --- controller --------------------------------------------------------

    def start_controller(self, extra=""):
        if not os.path.exists(os.path.join(self.dir, "pki", "ca.crt")):
            run([self.bin["rampartctl"], "pki", "init", "--dir", os.path.join(self.dir, "pki"), "--host",
                 CONTROLLER_IP])
        cfg = os.path.join(self.dir, "controller.yaml")
        with open(cfg, "w") as f:
            f.write("""controller:
  name: lab-controller
  data_dir: %(dir)s/controller
  agents:
    listen: 0.0.0.0:4317
    pki_dir: %(dir)s/pki
    heartbeat_interval: 2s
  links:
    reflector: 0.0.0.0:4318
    dead_after: 5s
    clear_after: 3s
    window: 10s
    degraded_loss: 0.10
    degraded_loss_clear: 0.03
    degraded_clear_for: 10s
%(extra)s""" % {"dir": self.dir, "extra": extra})
        self.controller = Process(self.ns("ctl"), [self.bin["rampart-controller"], "run", "--config", cfg],
                                  os.path.join(self.dir, "controller.log"))
        self.processes.append(self.controller)
        self.wait_for(lambda: self.ctl(["site", "list"], check=False).returncode == 0, 30, "controller admin socket")

    def ctl(self, args, check=True):
        # The admin socket lives in the controller's data directory, reachable from any namespace.
        where = ["--data-dir", os.path.join(self.dir, "controller")]
        return run([self.bin["rampartctl"]] + args[:2] + where + args[2:], check=check)

    def ctl_json(self, args):
        return json.loads(self.ctl(args + ["--json"]).stdout)

    def sites_state(self):
        return {s["id"]: s for s in self.ctl_json(["site", "list"])}

    def agents_state(self):
        return {a["id"]: a for a in self.ctl_json(["agent", "list"])}

    def token(self, site, ttl="10m"):
        return self.ctl(["token", "create", "--site", site, "--ttl", ttl]).stdout.strip()

    def fingerprint(self):
        return run([self.bin["rampartctl"], "pki", "fingerprint", os.path.join(self.dir, "pki", "ca.crt")]).stdout.strip()

    def export(self, agent_id):
        r = self.ctl(["events", "export", "--agent", agent_id])
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    # --- agents --------------------------------------------------------------

    def enroll(self, name, token=None, data_dir=None, check=True):
        a = self.agents[name]
        token = token or self.token(a["site"])
        tf = os.path.join(self.dir, name + ".token")
        with open(tf, "w") as f:
            f.write(token)
        os.chmod(tf, 0o600)
        r = run(["ip", "netns", "exec", a["ns"], self.bin["rampart-agent"], "enroll", "--controller",
                 CONTROLLER_IP + ":4317", "--token-file", tf, "--ca-sha256", self.fingerprint(), "--data-dir",
                 data_dir or a["dir"], "--name", name], check=check)
        if check:
            with open(os.path.join(data_dir or a["dir"], "enrolment.json")) as f:
                a["id"] = json.load(f)["agent_id"]
        return r

    def agent_config(self, name, data_dir=None, backlog_rate=5000):
        a = self.agents[name]
        data_dir = data_dir or a["dir"]
        a["eve"] = os.path.join(self.dir, name + "-eve.json")
        cfg = os.path.join(self.dir, name + ".yaml")
        with open(cfg, "w") as f:
            f.write("""agent:
  name: %(name)s
  data_dir: %(data_dir)s
  controller:
    reconnect_initial: 500ms
    reconnect_max: 4s
    backlog_rate: %(rate)d
  inputs:
    eve_files: [%(eve)s]
  host:
    processes: {enabled: false}
    logins: {enabled: false}
    sockets: {enabled: false}
    resources: {enabled: false}
""" % {"name": name, "data_dir": data_dir, "eve": a["eve"], "rate": backlog_rate})
        return cfg

    def start_agent(self, name, data_dir=None, backlog_rate=5000):
        a = self.agents[name]
        cfg = self.agent_config(name, data_dir, backlog_rate)
        a["proc"] = Process(a["ns"], [self.bin["rampart-agent"], "run", "--config", cfg],
                            os.path.join(self.dir, name + ".log"))
        self.processes.append(a["proc"])
        return a["proc"]

    def status(self, name, data_dir=None):
        path = os.path.join(data_dir or self.agents[name]["dir"], "status.json")
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    # --- helpers ---------------------------------------------------------------

    def wait_for(self, cond, timeout, what, interval=0.25):
        end = time.time() + timeout
        while time.time() < end:
            try:
                if cond():
                    return
            except (RuntimeError, ValueError, KeyError):
                pass
            time.sleep(interval)
        raise AssertionError("timed out after %ds waiting for %s" % (timeout, what))

    def close(self):
        for p in reversed(self.processes):
            try:
                if p.alive():
                    p.kill(signal.SIGKILL)
                    p.wait(10)
            except Exception:  # noqa: BLE001 - cleanup goes on
                pass
        for n in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        self.namespaces = []
        if os.environ.get("RAMPART_KEEP_LAB"):
            log("lab kept in " + self.dir)
        elif self.dir and os.path.isdir(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def dump_logs(self):
        for name in ["controller"] + sorted(self.agents):
            path = os.path.join(self.dir or "", name + ".log")
            if self.dir and os.path.exists(path):
                with open(path, errors="replace") as f:
                    lines = f.readlines()
                print("---- %s.log (last 40 lines) ----" % name)
                sys.stdout.writelines(lines[-40:])


class EveWriter:
    """Appends EVE lines to agents' followed files at a steady rate; every
    line carries a unique flow_id so the controller's copy can be matched."""

    def __init__(self, lab, names, alert_every=0):
        self.files = {n: open(lab.agents[n]["eve"], "a") for n in names}
        self.count = {n: 0 for n in names}
        self.alerts = {n: 0 for n in names}
        self.base = {n: (i + 1) * 1_000_000_000 for i, n in enumerate(names)}
        self.alert_every = alert_every

    def write(self, name, n):
        f = self.files[name]
        out = []
        now = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%06d+0000" % int((now % 1) * 1e6)
        for _ in range(n):
            i = self.count[name]
            fid = self.base[name] + i
            if self.alert_every and i % self.alert_every == 0:
                out.append('{"timestamp":"%s","flow_id":%d,"event_type":"alert","src_ip":"192.0.2.%d",'
                           '"src_port":4444,"dest_ip":"10.0.0.5","dest_port":80,"proto":"TCP","alert":'
                           '{"action":"allowed","gid":1,"signature_id":9100001,"rev":1,"signature":'
                           '"RAMPART LAB test alert","category":"Test","severity":1}}\n' % (ts, fid, i % 250))
                self.alerts[name] += 1
            else:
                out.append('{"timestamp":"%s","flow_id":%d,"event_type":"flow","src_ip":"10.0.0.1","src_port":%d,'
                           '"dest_ip":"10.0.0.2","dest_port":443,"proto":"TCP","flow":{"pkts_toserver":3,'
                           '"pkts_toclient":2,"bytes_toserver":180,"bytes_toclient":120}}\n' % (ts, fid, 1024 + i % 60000))
            self.count[name] += 1
        f.write("".join(out))
        f.flush()

    def close(self):
        for f in self.files.values():
            f.close()
