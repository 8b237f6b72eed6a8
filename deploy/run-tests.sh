#!/usr/bin/env bash
# Installs dependencies, builds Rampart (release preset, tests included) and
# runs every test group: unit, integration, system, ui, fuzz-less. Run as root
# on Debian 12 (system tests create network namespaces). Extra arguments go
# to ctest, e.g. `-L unit` or `-R Config`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
if [[ -f tests/ui/package.json ]]; then
  (cd tests/ui && npm ci --no-audit --no-fund --loglevel=error)
fi

cmake --preset release >/dev/null
cmake --build --preset release
# Two jobs on two cores; tests that need the whole machine are RUN_SERIAL.
ctest --preset release -j2 --timeout 900 "$@"
