#!/usr/bin/env bash
# testssl.sh (Debian's) against the web UI's HTTPS port: no finding may be
# HIGH or CRITICAL. The server runs with a certificate from `rampartctl pki
# init`, exactly as deployed; testssl is given our CA (--add-ca) since a
# private CA is not in the system trust store.
set -euo pipefail
bin="${RAMPART_BIN:?set by ctest}"
share="${RAMPART_BINARY_DIR}/share/rampart/ui"
if ! command -v testssl >/dev/null 2>&1; then
  echo "SKIP: testssl is not installed (deploy/install-deps.sh installs testssl.sh)"
  exit 77
fi
work=$(mktemp -d)
harness_pid=""
cleanup() {
  [[ -n "$harness_pid" ]] && kill "$harness_pid" 2>/dev/null || true
  exec 3>&- || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/rampartctl" pki init --dir "$work/pki" --host localhost >/dev/null
mkfifo "$work/in"
"$bin/ui_harness" "$work/data" "$work/pki/server.crt" "$work/pki/server.key" "$share" 0 <"$work/in" >"$work/out" 2>"$work/err" &
harness_pid=$!
exec 3>"$work/in"  # Keeps the harness's stdin open.
for _ in $(seq 1 100); do
  grep -q '^ready ' "$work/out" 2>/dev/null && break
  sleep 0.2
done
port=$(awk '/^ready /{print $2}' "$work/out")
[[ -n "$port" ]] || { echo "FAIL: the UI did not start"; cat "$work/err"; exit 1; }

# The CRL the certificate points to is served.
curl -fsS --cacert "$work/pki/ca.crt" "https://localhost:$port/pki/ca.crl" | grep -q "BEGIN X509 CRL" ||
  { echo "FAIL: /pki/ca.crl is not served"; exit 1; }

timeout 600 testssl --quiet --color 0 --warnings off --add-ca "$work/pki/ca.crt" \
  --jsonfile-pretty "$work/testssl.json" "localhost:$port" >"$work/testssl.txt" 2>&1 || true
[[ -s "$work/testssl.json" ]] || { echo "FAIL: testssl wrote no report"; tail -20 "$work/testssl.txt"; exit 1; }
/usr/bin/python3 - "$work/testssl.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
findings = []
def walk(o):
    if isinstance(o, dict):
        if "severity" in o and "id" in o:
            findings.append(o)
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(report)
bad = [f for f in findings if f["severity"] in ("HIGH", "CRITICAL")]
for f in findings:
    if f["severity"] not in ("OK", "INFO"):
        print("%-8s %-28s %s" % (f["severity"], f["id"], f.get("finding", "")))
checked = {f["id"] for f in findings}
for must in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3", "HSTS_time", "cert_chain_of_trust", "cert_crlDistributionPoints"):
    if must not in checked:
        print("FAIL: testssl did not report %s" % must)
        sys.exit(1)
ok = {f["id"]: f for f in findings}
assert ok["TLS1"]["finding"] == "not offered", ok["TLS1"]
assert ok["TLS1_1"]["finding"] == "not offered", ok["TLS1_1"]
print("%d findings, %d HIGH or CRITICAL" % (len(findings), len(bad)))
if bad:
    print("0 passed, 1 failed")
    sys.exit(1)
print("1 passed, 0 failed")
PY
