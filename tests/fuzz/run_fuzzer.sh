#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: run_fuzzer.sh BIN CORPUS SEEDS SECONDS.
# The working corpus lives in the build tree (it grows between runs); seeds
# come from tests/fuzz/corpus/NAME. Any crash, leak or sanitizer report fails
# the test and leaves the reproducer in CORPUS/../artifacts/.
set -euo pipefail
bin=$1 corpus=$2 seeds=$3 seconds=$4
mkdir -p "$corpus" "$corpus/../artifacts"
dirs=("$corpus")
[[ -d "$seeds" ]] && dirs+=("$seeds")
exec "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$corpus/../artifacts/$(basename "$bin")-" "${dirs[@]}"
