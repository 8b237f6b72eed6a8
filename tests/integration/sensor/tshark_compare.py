#!/usr/bin/python3
"""Rampart's network sensor against tshark as an outside reference.

For every capture under ../shared/data/pcaps (zeek-traces, chrissanders-packets,
tcpdump-tests from its tar.gz, debian-gopacket-pcapng) this runs
`rampart-agent replay FILE --eve OUT --checksum-checks none` (tshark does not
check checksums either) and compares with tshark 4.0's ground truth in
_ground_truth_tshark.tsv / _ground_truth_fields.tsv.gz:

  * DNS queries   tshark: packets with a DNS query (first question name)
                  Rampart: dns records of type "query", one per message
                  (pcap_cnt + id), first question's rrname
  * HTTP requests tshark: "METHOD host+uri" per request (GENA's NOTIFY, SUBSCRIBE
                  and UNSUBSCRIBE are notifications to tshark, not requests)
                  Rampart: http records with http_method, "METHOD hostname[:http_port]url"
  * TLS SNI       tshark: ClientHellos with server_name (QUIC's too); Rampart: tls
                  and quic records with sni

A capture agrees when the three counts are equal and the values are the
same multisets (host names compared case-insensitively). The agreement is
computed over captures with an Ethernet, raw IP, Linux cooked (SLL/SLL2) or
BSD loopback link type in which tshark found at least one of the three.
Every capture, whatever its link type, must be replayed without a crash
(a signal, or an exit other than 0 or 1 with a message).

Exit 0 when the agreement is at least --min-agreement and nothing crashed.
With --sample N (the sanitizer build's ctest entry: every capture costs an
instrumented process start), only every Nth capture in sorted order is
replayed; then a crash still fails the test, and the agreement is printed
but only the full run (release build) is held to --min-agreement.
"""
import argparse
import collections
import concurrent.futures
import gzip
import json
import os
import subprocess
import sys
import tarfile
import time

LINK_TYPES = {"ether", "rawip", "rawip4", "rawip6", "linux-sll", "linux-sll2", "null"}
SETS = ["zeek-traces", "chrissanders-packets", "tcpdump-tests", "debian-gopacket-pcapng"]


def load_truth(root):
    """{set: {relpath: row}} and {(set, relpath): {kind: [values]}}."""
    manifest, fields = {}, collections.defaultdict(lambda: collections.defaultdict(list))
    for s in SETS:
        manifest[s] = {}
        with open(os.path.join(root, s, "_ground_truth_tshark.tsv"), encoding="utf-8") as f:
            header = f.readline().rstrip("\n").split("\t")
            for line in f:
                row = dict(zip(header, line.rstrip("\n").split("\t")))
                manifest[s][row["path"]] = row
        with gzip.open(os.path.join(root, s, "_ground_truth_fields.tsv.gz"), "rt", encoding="utf-8",
                       errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t", 2)
                if len(parts) == 3:
                    fields[(s, parts[0])][parts[1]].append(parts[2])
    return manifest, fields


def capture_files(root, work):
    """(set, relpath, path on disk) for every capture; tcpdump's come out of the tar.gz."""
    out = []
    for s in SETS:
        base = os.path.join(root, s)
        if s == "tcpdump-tests":
            dest = os.path.join(work, "tcpdump-tests")
            stamp = os.path.join(dest, ".extracted")
            if not os.path.exists(stamp):
                os.makedirs(dest, exist_ok=True)
                with tarfile.open(os.path.join(base, "tcpdump-tests-pcaps.tar.gz")) as t:
                    t.extractall(dest)
                open(stamp, "w").close()
            base = dest
        for d, _, files in os.walk(base):
            for name in files:
                if name.startswith("_") or name.startswith(".") or name in ("LICENSE", "TESTLIST") or \
                        name.endswith((".md", ".tar.gz", ".txt")):
                    continue
                path = os.path.join(d, name)
                out.append((s, os.path.relpath(path, base), path))
    return sorted(out)


def replay(binary, path, out_path):
    start = time.monotonic()
    try:
        r = subprocess.run([binary, "replay", path, "--eve", out_path, "--checksum-checks", "none", "-q"],
                           capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return {"crash": "timed out after 120 s", "secs": 120}
    secs = time.monotonic() - start
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode < 0:
        return {"crash": f"killed by signal {-r.returncode}: {err[-300:]}", "secs": secs}
    if r.returncode not in (0, 1):
        return {"crash": f"exit {r.returncode}: {err[-300:]}", "secs": secs}
    if r.returncode == 1 and not err:
        return {"crash": "exit 1 without a message", "secs": secs}
    return {"rc": r.returncode, "err": err, "secs": secs}


def extract(eve_path):
    dns, http, sni = {}, [], []
    try:
        f = open(eve_path, encoding="utf-8")
    except OSError:
        return [], [], []
    with f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            t = rec.get("event_type")
            if t == "dns":
                d = rec.get("dns", {})
                if d.get("type") == "query":
                    key = (rec.get("pcap_cnt"), d.get("id"), rec.get("flow_id"))
                    dns.setdefault(key, d.get("rrname", ""))
            elif t == "http":
                h = rec.get("http", {})
                # tshark files GENA's NOTIFY/SUBSCRIBE/UNSUBSCRIBE as notifications, not requests.
                if "http_method" in h and h["http_method"] not in ("NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE"):
                    host = h.get("hostname", "")
                    if "http_port" in h:
                        host += ":" + str(h["http_port"])
                    http.append(f"{h['http_method']} {host}{h.get('url', '')}")
            elif t in ("tls", "quic"):
                s = rec.get(t, {}).get("sni")
                if s:
                    sni.append(s)
    return list(dns.values()), http, sni


def norm_dns(v):
    return "" if v == "<Root>" else v.lower()


def norm_http(v):
    method, _, rest = v.partition(" ")
    return method + " " + rest.lower()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="rampart-agent")
    ap.add_argument("--data", required=True, help="../shared/data/pcaps")
    ap.add_argument("--work", required=True, help="scratch directory (extracted captures, EVE files)")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--min-agreement", type=float, default=0.95)
    ap.add_argument("--expect-compared", type=int, default=297,
                    help="number of captures with something to compare (the data set's)")
    ap.add_argument("--verbose", action="store_true", help="print every disagreement with its values")
    ap.add_argument("--sample", type=int, default=1, metavar="N",
                    help="replay every Nth capture only (crash check; agreement not enforced)")
    args = ap.parse_args()

    manifest, fields = load_truth(args.data)
    files = capture_files(args.data, args.work)
    if args.sample > 1:
        files = files[::args.sample]
    eve_dir = os.path.join(args.work, "eve")
    os.makedirs(eve_dir, exist_ok=True)

    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
        for i, (s, rel, path) in enumerate(files):
            out = os.path.join(eve_dir, f"{i}.json")
            jobs[(s, rel)] = (pool.submit(replay, args.bin, path, out), out)
    crashes, compared, agree, disagreements = [], 0, 0, []
    refused = collections.Counter()
    slowest = []
    for (s, rel), (fut, out) in sorted(jobs.items()):
        res = fut.result()
        slowest.append((res.get("secs", 0), f"{s}/{rel}"))
        if "crash" in res:
            crashes.append(f"{s}/{rel}: {res['crash']}")
            continue
        if res["rc"] == 1:
            refused[res["err"].split(":")[-1].strip()[:60]] += 1
        row = manifest[s].get(rel)
        if row is None or row.get("encapsulation") not in LINK_TYPES:
            continue
        want = {"dns": int(row["dns_queries"]), "http": int(row["http_requests"]),
                "sni": int(row["tls_client_hellos_sni"])}
        if sum(want.values()) == 0:
            continue
        compared += 1
        dns, http, sni = extract(out)
        got = {"dns": len(dns), "http": len(http), "sni": len(sni)}
        tv = fields[(s, rel)]
        same_values = (collections.Counter(map(norm_dns, dns)) == collections.Counter(map(norm_dns, tv["dns.query"])) and
                       collections.Counter(map(norm_http, http)) == collections.Counter(map(norm_http, tv["http.request"])) and
                       collections.Counter(x.lower() for x in sni) == collections.Counter(x.lower() for x in tv["tls.sni"]))
        if got == want and same_values:
            agree += 1
        else:
            disagreements.append((f"{s}/{rel}", want, got, dns, http, sni, tv, res.get("err", "")))

    for name, want, got, dns, http, sni, tv, err in disagreements:
        print(f"DISAGREE {name}: tshark {want} rampart {got}" + (f" ({err[:80]})" if err else ""))
        if args.verbose:
            for kind, ours, theirs in (("dns", dns, tv["dns.query"]), ("http", http, tv["http.request"]),
                                       ("sni", sni, tv["tls.sni"])):
                a, b = collections.Counter(ours), collections.Counter(theirs)
                if a != b:
                    print(f"    {kind}: only rampart {list((a - b).elements())[:5]}")
                    print(f"    {kind}: only tshark  {list((b - a).elements())[:5]}")
    for c in crashes:
        print(f"CRASH {c}")
    for reason, n in refused.most_common():
        print(f"refused (clean error exit) x{n}: {reason}")
    slowest.sort(reverse=True)
    print("slowest: " + ", ".join(f"{n} {t:.2f}s" for t, n in slowest[:3]))
    ratio = agree / compared if compared else 0.0
    print(f"{len(files)} captures replayed, {len(crashes)} crashed; "
          f"{agree} of {compared} comparable captures agree with tshark ({100 * ratio:.1f}%)")
    if args.sample > 1:
        print(f"sampled every {args.sample}th capture: only crashes fail this run; "
              f"the agreement is enforced on the full run")
        return 1 if crashes else 0
    ok = not crashes and ratio >= args.min_agreement and compared >= args.expect_compared
    if compared < args.expect_compared:
        print(f"expected {args.expect_compared} comparable captures, found {compared}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
