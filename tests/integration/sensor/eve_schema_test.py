#!/usr/bin/python3
"""Every EVE record `rampart-agent replay` writes validates against Suricata's schema.

Replays ../shared/data/bench/mixed-52mb.pcap and every capture under
../shared/data/suricata-verify (with the checksum mode svharness.py would
use for that test) and validates each record with tests/tools/eve_validate.py's
schema handling. Fails on any invalid record, any replay that crashes (a
signal or an exit other than 0 or 1), or an empty output.

With --sample N (the sanitizer build's ctest entry) only every Nth
suricata-verify capture in sorted order is replayed, and always the
benchmark capture.

usage: eve_schema_test.py --bin rampart-agent --data ../shared/data --work DIR [-j N] [--sample N]
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import eve_validate  # noqa: E402  (tests/tools/eve_validate.py)
import jsonschema  # noqa: E402


def checksum_mode(test_dir):
    """"none" when the suricata-verify test runs Suricata with -k none."""
    try:
        with open(os.path.join(test_dir, "test.yaml"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return "all"
    return "none" if re.search(r"-k\s+none|--checksum-checks?[ =]none", text) else "all"


def replay(binary, pcap, out, checksum):
    r = subprocess.run([binary, "replay", pcap, "--eve", out, "--checksum-checks", checksum, "-q"],
                       capture_output=True, timeout=300)
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode < 0:
        return f"killed by signal {-r.returncode}: {err[-300:]}"
    if r.returncode not in (0, 1):
        return f"exit {r.returncode}: {err[-300:]}"
    if r.returncode == 1 and not err:
        return "exit 1 without a message"
    return None


def validate(path, validator):
    """(records, invalid messages) of one EVE file."""
    records, bad = 0, []
    for _, problem in eve_validate.check_records(path, validator):
        records += 1
        if problem is not None:
            bad.append(problem)
    return records, bad


def validate_file(args):
    path, schema_path = args
    schema = eve_validate.load_schema(schema_path, None)
    validator = jsonschema.validators.validator_for(schema)(schema)
    return validate(path, validator)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True, help="../shared/data")
    ap.add_argument("--work", required=True)
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--sample", type=int, default=1, metavar="N",
                    help="replay every Nth suricata-verify capture only (and the benchmark capture)")
    args = ap.parse_args()

    os.makedirs(args.work, exist_ok=True)
    sv_jobs = []
    sv = os.path.join(args.data, "suricata-verify", "tests")
    for d, _, files in os.walk(sv):
        for name in sorted(files):
            if name.endswith((".pcap", ".pcapng", ".cap")):
                sv_jobs.append((os.path.join(d, name), checksum_mode(d)))
    sv_jobs.sort()
    jobs = [(os.path.join(args.data, "bench", "mixed-52mb.pcap"), "all")] + sv_jobs[::max(1, args.sample)]
    outs = []
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
        futs = {}
        for i, (pcap, mode) in enumerate(jobs):
            out = os.path.join(args.work, f"{i}.json")
            futs[pool.submit(replay, args.bin, pcap, out, mode)] = (pcap, out)
        for fut, (pcap, out) in futs.items():
            crash = fut.result()
            if crash:
                failures.append(f"{pcap}: {crash}")
            elif not os.path.exists(out) or os.path.getsize(out) == 0:
                failures.append(f"{pcap}: no EVE output")
            else:
                outs.append(out)
    schema_path = os.path.join(args.data, "eve-schema", "schema.json")
    total = 0
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.j) as pool:
        for records, bad in pool.map(validate_file, [(o, schema_path) for o in outs], chunksize=8):
            total += records
            failures.extend(bad)
    for f in failures[:40]:
        print(f)
    print(f"{len(jobs)} captures replayed, {total} records validated, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
