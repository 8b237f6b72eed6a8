#!/usr/bin/python3
"""Suricata-verify pass rate of `rampart-agent replay --rules`.

Runs ../shared/tools/svharness.py --relaxed --tier all over
../shared/data/suricata-verify with rampart-agent as the engine and fails
when the pass rate drops below the floors (overall, and outside the
http-evader family, whose 254 cases exercise one rule). The floors sit just
under the rates reached (docs/COMPATIBILITY.md, "Suricata rules"), so a
regression anywhere in the sensor or the engine shows here.

  suricata_verify_test.py --agent BIN [--floor-all PCT] [--floor-other PCT] [-j N]

Exit 0 pass, 1 below a floor or harness failure, 77 skipped (no shared data).
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import time

# Reached 2026-12-06: 388 of 413 (93.9%), 134 of 159 outside http-evader (84.3%).
FLOOR_ALL = 93.5
FLOOR_OTHER = 84.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--floor-all", type=float, default=FLOOR_ALL)
    ap.add_argument("--floor-other", type=float, default=FLOOR_OTHER)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--source", default=os.environ.get("RAMPART_SOURCE_DIR", os.getcwd()))
    a = ap.parse_args()

    shared = os.path.normpath(os.path.join(a.source, "..", "shared"))
    harness = os.path.join(shared, "tools", "svharness.py")
    root = os.path.join(shared, "data", "suricata-verify", "tests")
    for path in (harness, root):
        if not os.path.exists(path):
            print("SKIP: %s is missing (the shared test data is not on this machine)" % path)
            return 77
    if not os.access(a.agent, os.X_OK):
        print("FAIL: %s is not an executable" % a.agent)
        return 1

    cmd = ("%s replay {pcap} --rules {rules} --eve {out} --checksum-checks {checksum}"
           % shlex.quote(os.path.abspath(a.agent)))
    start = time.monotonic()
    p = subprocess.run([sys.executable, harness, "--root", root, "--relaxed", "--tier", "all",
                        "-j", str(a.jobs), "--timeout", "60", "--cmd", cmd],
                       capture_output=True, text=True, timeout=900)
    elapsed = time.monotonic() - start
    results = re.findall(r"^(PASS|FAIL) (\S+)(.*)$", p.stdout, re.M)
    if not results:
        print("FAIL: the harness reported no test (exit %d)\n%s\n%s" % (p.returncode, p.stdout[-2000:],
                                                                      p.stderr[-2000:]))
        return 1
    total = len(results)
    passed = sum(1 for r in results if r[0] == "PASS")
    other = [r for r in results if "/http-evader/" not in r[1]]
    other_passed = sum(1 for r in other if r[0] == "PASS")
    rate_all = 100.0 * passed / total
    rate_other = 100.0 * other_passed / len(other) if other else 0.0
    for status, path, why in results:
        if status == "FAIL":
            print("FAIL %s%s" % (os.path.relpath(path, root), why))
    print("suricata-verify: %d of %d passed (%.1f%%), outside http-evader %d of %d (%.1f%%) in %.0f s"
          % (passed, total, rate_all, other_passed, len(other), rate_other, elapsed))
    ok = True
    if total < 400:
        print("FAIL: only %d tests ran (413 expected): is the data complete?" % total)
        ok = False
    if rate_all < a.floor_all:
        print("FAIL: overall pass rate %.1f%% is below the floor %.1f%%" % (rate_all, a.floor_all))
        ok = False
    if rate_other < a.floor_other:
        print("FAIL: pass rate outside http-evader %.1f%% is below the floor %.1f%%"
              % (rate_other, a.floor_other))
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
