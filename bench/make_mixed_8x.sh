#!/usr/bin/env bash
# Builds the benchmark capture for the packet path: ../shared/data/bench/mixed-52mb.pcap
# made 8 times larger, the file itself followed by seven copies with distinct
# addresses (../shared/tools/pcap_ipshift.py K for K=1..7; checksums stay as
# valid or invalid as they were), joined with `mergecap -a -F pcap`.
#
#   bench/make_mixed_8x.sh OUT.pcap     builds OUT.pcap unless it is already
#                                       there and newer than its inputs;
#                                       prints the path on stdout
#
# The file is ~420 MB: keep it outside the repository (the benchmarks cache it
# under their build tree, build/<dir>/bench-data/mixed-8x.pcap). Concurrent
# callers wait for one another (flock on OUT.pcap.lock); the file appears
# whole or not at all. Needs python3 and mergecap (wireshark-common).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT.pcap" >&2
  exit 2
fi
out=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${RAMPART_SHARED_DATA:-$repo/../shared/data}
tool=${RAMPART_SHARED_TOOLS:-$repo/../shared/tools}/pcap_ipshift.py
base=$data/bench/mixed-52mb.pcap
python=/usr/bin/python3
[[ -x $python ]] || python=python3

for f in "$base" "$tool"; do
  if [[ ! -r $f ]]; then
    echo "$0: $f is missing" >&2
    exit 1
  fi
done
command -v mergecap >/dev/null || { echo "$0: mergecap is not installed (wireshark-common)" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [[ -s $out && $out -nt $base && $out -nt $tool ]]; then
  echo "$out"
  exit 0
fi
echo "building $out from $base (once)..." >&2
tmp=$(mktemp -d "$(dirname "$out")/.mixed-8x.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
parts=("$base")
for k in 1 2 3 4 5 6 7; do
  "$python" "$tool" "$k" "$base" "$tmp/shift$k.pcap" >&2
  parts+=("$tmp/shift$k.pcap")
done
mergecap -a -F pcap -w "$tmp/8x.pcap" "${parts[@]}" >&2
mv "$tmp/8x.pcap" "$out"
echo "$out"
