#!/usr/bin/python3
"""ET Open acceptance: `rampart-agent rules check` over the whole ET Open
snapshot in ../shared/data/et-open (24,827 enabled rules, Suricata 5
syntax, every one loadable by Suricata) must accept at least 97% of them and
name each skipped keyword with its count.

  et_open_test.py --agent BIN [--floor PCT]

Exit 0 pass, 1 fail, 77 skipped (no shared data).
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tarfile
import tempfile

FLOOR = 97.0
ENABLED = 24827


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--floor", type=float, default=FLOOR)
    ap.add_argument("--source", default=os.environ.get("RAMPART_SOURCE_DIR", os.getcwd()))
    a = ap.parse_args()
    tgz = os.path.normpath(os.path.join(a.source, "..", "shared", "data", "et-open",
                                        "et-open-suricata-5.0-2024-04-21.tar.gz"))
    if not os.path.exists(tgz):
        print("SKIP: %s is missing (the shared test data is not on this machine)" % tgz)
        return 77
    with tempfile.TemporaryDirectory(prefix="et-open-") as tmp:
        with tarfile.open(tgz) as t:
            t.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(tmp)
        files = sorted(glob.glob(os.path.join(tmp, "**", "*.rules"), recursive=True))
        cls = glob.glob(os.path.join(tmp, "**", "classification.config"), recursive=True)
        if not files:
            print("FAIL: no .rules file in %s" % tgz)
            return 1
        cmd = [a.agent, "rules", "check", "-q"] + (["--classification", cls[0]] if cls else []) + files
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    print(out[-3000:])
    m = re.search(r"(\d+) rules loaded, (\d+) skipped \(unsupported keywords\), (\d+) failed", out)
    if m is None:
        print("FAIL: no summary line (exit %d)" % p.returncode)
        return 1
    loaded, skipped, failed = (int(x) for x in m.groups())
    total = loaded + skipped + failed
    ok = True
    if total != ENABLED:
        print("FAIL: %d enabled rules counted, %d expected" % (total, ENABLED))
        ok = False
    rate = 100.0 * loaded / total if total else 0.0
    print("ET Open: %d of %d rules accepted (%.2f%%), %d skipped, %d failed" % (loaded, total, rate, skipped, failed))
    if rate < a.floor:
        print("FAIL: acceptance %.2f%% is below the floor %.1f%%" % (rate, a.floor))
        ok = False
    # Every skipped rule is accounted for by a named keyword with its count.
    section = out.split("skipped keywords (rules):", 1)
    counts = re.findall(r"^\s+(\S+)\s+(\d+)$", section[1], re.M) if len(section) == 2 else []
    if skipped > 0 and sum(int(c) for _, c in counts) < skipped:
        print("FAIL: %d skipped rules but the keyword list accounts for %d" % (skipped, sum(int(c) for _, c in counts)))
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
