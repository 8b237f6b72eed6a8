#!/usr/bin/env bash
# Installs every Debian 12 package that Rampart's build, tests and benchmarks
# need. Idempotent: packages already present are left alone, so a second run
# costs one dpkg query. Run as root. Nothing is fetched from outside Debian's
# archive here; browser tests add npm packages in tests/ui (see that README).
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: run as root (apt-get needs it)" >&2
  exit 1
fi

packages=(
  # Toolchain
  build-essential cmake ninja-build ccache pkg-config git clang-19 libclang-rt-19-dev lld-19
  # Libraries
  libboost-dev libboost-system-dev libpcap-dev libyara-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  librocksdb-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libvectorscan-dev libpcre2-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libyaml-cpp-dev libcli11-dev libcurl4-openssl-dev libnats-dev libargon2-dev
  zlib1g-dev libsystemd-dev libgoogle-perftools-dev
  # The web UI's charts (served from /usr/share/javascript/chart.js)
  libjs-chart.js
  # Real components the tests start, and the tools benchmarks compare with
  python3 python3-jsonschema python3-aiosmtpd python3-yaml nats-server rsyslog rsyslog-gnutls
  gnutls-bin tcpreplay tcpdump tshark wireshark-common iproute2 iptables yara
  systemd-journal-remote  # writes journal files for the journal login reader's tests
  testssl.sh time procps psmisc openssl ca-certificates hyperfine
  chromium nodejs
)
# Debian's npm conflicts with a nodejs build that bundles its own npm; ask for
# the separate package only where no npm came with nodejs.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps.sh: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps.sh: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the default (no) is right.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
