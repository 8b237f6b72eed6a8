#!/usr/bin/python3
"""Live capture against replay, across a real link.

Two network namespaces joined by a veth pair. In one, `rampart-agent run`
captures on its end of the link (agent.capture) and writes EVE to a file. In
the other, tcpreplay sends a capture file made of public test captures (DNS
over UDP and TCP, HTTP over IPv4 and IPv6, TLS) at a pace the kernel keeps
up with. Then `rampart-agent replay` reads the same file. The flows and the
DNS, HTTP and TLS records must match (timestamps aside: live time is not the
file's time), and the live stats must show no kernel drop.

Needs root, iproute2 and tcpreplay; exits 77 (skipped) with the reason when
network namespaces cannot be made.
"""
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("RAMPART_BIN", "build/release/bin")
SRC = os.environ.get("RAMPART_SOURCE_DIR", os.getcwd())
DATA = os.path.join(SRC, "..", "shared", "data", "pcaps")
INPUTS = [
    "chrissanders-packets/dns_query_response.pcapng",
    "chrissanders-packets/dns_tcp.pcapng",
    "chrissanders-packets/http_post.pcapng",
    "chrissanders-packets/http_ip4and6.pcapng",
    "zeek-traces/tls/google-cert-repeat.pcap",
]
SUFFIX = str(os.getpid())
NS_A, NS_B = f"rampart-sens-a{SUFFIX}", f"rampart-sens-b{SUFFIX}"


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def run(*cmd, check=True, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def setup_namespaces():
    run("ip", "netns", "add", NS_A)
    run("ip", "netns", "add", NS_B)
    run("ip", "link", "add", "va" + SUFFIX[-6:], "type", "veth", "peer", "name", "vb" + SUFFIX[-6:])
    va, vb = "va" + SUFFIX[-6:], "vb" + SUFFIX[-6:]
    run("ip", "link", "set", va, "netns", NS_A)
    run("ip", "link", "set", vb, "netns", NS_B)
    for ns, dev in ((NS_A, va), (NS_B, vb)):
        # No addresses and no IPv6 on the link: the kernels send nothing of their own.
        run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"net.ipv6.conf.{dev}.disable_ipv6=1")
        run("ip", "netns", "exec", ns, "ip", "link", "set", dev, "mtu", "9000")
        run("ip", "netns", "exec", ns, "ip", "link", "set", dev, "up")
    return va, vb


def cleanup():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


def records(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


def summary(recs):
    """What must agree: flows and app-layer records, without times and ids."""
    flows, dns, http, tls = [], [], [], []
    for r in recs:
        t = r.get("event_type")
        if t == "flow":
            f = r["flow"]
            flows.append((r.get("proto"), r.get("src_ip"), r.get("src_port"), r.get("dest_ip"), r.get("dest_port"),
                           r.get("app_proto", ""), f["pkts_toserver"], f["pkts_toclient"], f["bytes_toserver"],
                           f["bytes_toclient"]))
        elif t == "dns":
            d = r["dns"]
            dns.append((d.get("type"), d.get("id"), d.get("rrname"), d.get("rrtype"), d.get("rcode", ""),
                        json.dumps(d.get("answers", []), sort_keys=True)))
        elif t == "http":
            h = r["http"]
            http.append((h.get("http_method", ""), h.get("hostname", ""), h.get("url", ""), h.get("status", 0),
                         h.get("length", 0)))
        elif t == "tls":
            s = r["tls"]
            tls.append((s.get("sni", ""), s.get("version", ""), s.get("subject", ""), s.get("fingerprint", ""),
                        (s.get("ja3") or {}).get("hash", "")))
    return {k: collections.Counter(v) for k, v in (("flow", flows), ("dns", dns), ("http", http), ("tls", tls))}


def main():
    if os.geteuid() != 0:
        skip("network namespaces need root")
    for tool in ("ip", "tcpreplay", "mergecap"):
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed (deploy/install-deps.sh installs it)")
    agent = os.path.join(BIN, "rampart-agent")
    if not os.access(agent, os.X_OK):
        print(f"FAIL: {agent} is not built")
        return 1
    work = tempfile.mkdtemp(prefix="rampart-sensor-live-")
    try:
        try:
            va, vb = setup_namespaces()
        except RuntimeError as e:
            skip(f"cannot make network namespaces: {e}")
        pcap = os.path.join(work, "input.pcap")
        run("mergecap", "-a", "-F", "pcap", "-w", pcap, *[os.path.join(DATA, p) for p in INPUTS])
        live_eve = os.path.join(work, "live.json")
        cfg = os.path.join(work, "agent.yaml")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(f"""agent:
  name: sensor-live-test
  data_dir: {work}/data
  log: {{level: info}}
  host:
    processes: {{enabled: false}}
    logins: {{enabled: false}}
    sockets: {{enabled: false}}
    resources: {{enabled: false}}
  capture:
    enabled: true
    interface: {vb}
    immediate: true
    stats_interval: 1s
    eve_file: {live_eve}
""")
        log_path = os.path.join(work, "agent.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen(["ip", "netns", "exec", NS_B, agent, "run", "--config", cfg],
                                    stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if "capturing" in open(log_path).read() or proc.poll() is not None:
                    break
                time.sleep(0.1)
            if proc.poll() is not None or "capturing" not in open(log_path).read():
                print("FAIL: the agent did not start capturing:\n" + open(log_path).read()[-3000:])
                return 1
            time.sleep(0.5)
            sent = run("ip", "netns", "exec", NS_A, "tcpreplay", "-q", "-i", va, "--pps=500", pcap)
            print(sent.stdout.strip().splitlines()[-1] if sent.stdout.strip() else "tcpreplay done")
            time.sleep(2.5)  # The last stats interval passes; packets are all in.
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if proc.returncode != 0:
            print(f"FAIL: the agent exited with {proc.returncode}:\n" + open(log_path).read()[-3000:])
            return 1
        replay_eve = os.path.join(work, "replay.json")
        r = run(agent, "replay", pcap, "--eve", replay_eve, check=False)
        if r.returncode != 0:
            print(f"FAIL: replay exited with {r.returncode}: {r.stderr}")
            return 1
        live, replay = records(live_eve), records(replay_eve)
        ok = True
        stats = [x for x in live if x.get("event_type") == "stats"]
        if not stats:
            print("FAIL: no stats record from the live sensor")
            ok = False
        else:
            cap = stats[-1]["stats"].get("capture", {})
            print(f"live capture: kernel_packets={cap.get('kernel_packets')} kernel_drops={cap.get('kernel_drops')}")
            if cap.get("kernel_drops", 1) != 0:
                print("FAIL: the kernel dropped packets")
                ok = False
        a, b = summary(live), summary(replay)
        for kind in ("flow", "dns", "http", "tls"):
            n = sum(b[kind].values())
            if a[kind] != b[kind]:
                ok = False
                print(f"FAIL: {kind} records differ: live {sum(a[kind].values())}, replay {n}")
                for x in list((a[kind] - b[kind]).elements())[:5]:
                    print(f"  only live:   {x}")
                for x in list((b[kind] - a[kind]).elements())[:5]:
                    print(f"  only replay: {x}")
            else:
                print(f"{kind}: {n} records match")
        for kind, least in (("dns", 1), ("http", 1), ("tls", 1), ("flow", 5)):
            if sum(b[kind].values()) < least:
                print(f"FAIL: the test capture should give {kind} records")
                ok = False
        return 0 if ok else 1
    finally:
        cleanup()
        if os.environ.get("RAMPART_KEEP_TEST_DIR"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
