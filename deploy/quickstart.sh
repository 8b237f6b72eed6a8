#!/usr/bin/env bash
# Rampart's main job on one machine: installs dependencies, builds the
# release preset, generates a CA, certificates and example configurations
# under run/, then starts a controller and an agent in the foreground. The
# agent captures on the loopback interface with the starter rules
# (rules/network, rules/yara), and deploy/demo-traffic.py sends sample
# attacks to 127.0.0.1 for the first hour, so alerts reach the UI within
# seconds. Ctrl-C (or SIGTERM) stops everything cleanly. Run as root on
# Debian 12.
#
# Environment (defaults in brackets), for tests and for running beside
# another instance:
#   RAMPART_QUICKSTART_DIR  state, configs, certificates [<checkout>/run]
#   RAMPART_BIN             use the programs in this folder; skips installing
#                           dependencies and building [build/release/bin after a build]
#   RAMPART_UI_PORT [8443]  RAMPART_AGENT_PORT [4317]  RAMPART_PROBE_PORT [4318]
#   RAMPART_DEMO_TRAFFIC [1]: 0 starts no sample traffic
#   RAMPART_DEMO_INTERVAL [10], RAMPART_DEMO_ROUNDS [360]: seconds between rounds, rounds
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

ui_port=${RAMPART_UI_PORT:-8443}
agent_port=${RAMPART_AGENT_PORT:-4317}
probe_port=${RAMPART_PROBE_PORT:-4318}

if [[ -n "${RAMPART_BIN:-}" ]]; then
  bin=$(cd "$RAMPART_BIN" && pwd)
else
  bash deploy/install-deps.sh
  cmake --preset release >/dev/null
  cmake --build --preset release --target rampart-agent rampart-controller rampartctl rampart_ui_assets
  bin="$root/build/release/bin"
fi

run=${RAMPART_QUICKSTART_DIR:-$root/run}
mkdir -p "$run"
run=$(cd "$run" && pwd)
chmod 700 "$run"
if [[ ! -f "$run/pki/ca.crt" ]]; then
  "$bin/rampartctl" pki init --dir "$run/pki" --host localhost --host 127.0.0.1 --host ::1
fi
sed -e "s|@RUN@|$run|g" -e "s|port: 8443|port: $ui_port|" -e "s|:4317|:$agent_port|g" \
    -e "s|:4318|:$probe_port|g" deploy/config/controller.example.yaml >"$run/controller.yaml"
sed -e "s|@RUN@|$run|g" -e "s|@RULES@|$root/rules|g" -e "s|:4317|:$agent_port|g" \
    -e "s|not port 4317|not port $agent_port|" deploy/config/agent.example.yaml >"$run/agent.yaml"
"$bin/rampart-controller" check-config --config "$run/controller.yaml"
"$bin/rampart-agent" check-config --config "$run/agent.yaml"

# The UI's first admin, created once; the password is printed once, here.
ui_note="UI: https://localhost:$ui_port  user: admin"
if password=$("$bin/rampartctl" user add admin --role admin --generate-password --data-dir "$run/controller" 2>/dev/null); then
  ui_note="$ui_note  password: $password  (shown once; change it: rampartctl user passwd admin --data-dir $run/controller)"
else
  ui_note="$ui_note  (password printed by the first quickstart; reset: rampartctl user passwd admin --data-dir $run/controller)"
fi

pids=()
traffic_pid=
stop() {
  trap - INT TERM
  echo "quickstart: stopping"
  # Newest first: the traffic, then the agent (it ships what it has), then the controller.
  local rc=${1:-0} st
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    st=0
    wait "${pids[i]}" 2>/dev/null || st=$?
    if ((st != 0)); then
      echo "quickstart: process ${pids[i]} exited with status $st"
      rc=1
    fi
  done
  echo "quickstart: stopped"
  exit "$rc"
}
trap stop INT TERM

"$bin/rampart-controller" run --config "$run/controller.yaml" &
pids+=($!)
# The local agent enrols once: a one-time token for its site from the
# controller (over its admin socket), the CA pinned by fingerprint.
if [[ ! -f "$run/agent/enrolment.json" ]]; then
  for _ in $(seq 1 60); do
    "$bin/rampartctl" site list --data-dir "$run/controller" >/dev/null 2>&1 && break
    sleep 0.5
  done
  token_file="$run/agent-token"
  (umask 077; "$bin/rampartctl" token create --site so-thong-tin --ttl 10m --data-dir "$run/controller" >"$token_file")
  "$bin/rampart-agent" enroll --controller "127.0.0.1:$agent_port" --token-file "$token_file" \
    --ca-sha256 "$("$bin/rampartctl" pki fingerprint "$run/pki/ca.crt")" --config "$run/agent.yaml" ||
    { rm -f "$token_file"; stop 1; }
  rm -f "$token_file"
fi
"$bin/rampart-agent" run --config "$run/agent.yaml" &
pids+=($!)
# Sample attacks on 127.0.0.1 for the agent to see (bounded: it exits
# after its rounds; the controller and agent keep running).
if [[ "${RAMPART_DEMO_TRAFFIC:-1}" != 0 ]]; then
  /usr/bin/python3 deploy/demo-traffic.py --interval "${RAMPART_DEMO_INTERVAL:-10}" \
    --rounds "${RAMPART_DEMO_ROUNDS:-360}" --delay 3 &
  traffic_pid=$!
  pids+=("$traffic_pid")
fi
echo "quickstart: controller and agent running (logs above); press Ctrl-C to stop"
echo "quickstart: $ui_note"
# Until Ctrl-C; if the controller or the agent stops on its own, stop the rest.
while true; do
  done_pid=
  status=0
  wait -n -p done_pid "${pids[@]}" || status=$?
  if [[ -z "$done_pid" ]]; then continue; fi
  if [[ "$done_pid" == "$traffic_pid" ]]; then
    echo "quickstart: sample traffic finished; controller and agent keep running"
    rest=()
    for p in "${pids[@]}"; do [[ "$p" == "$traffic_pid" ]] || rest+=("$p"); done
    pids=("${rest[@]}")
    traffic_pid=
    continue
  fi
  echo "quickstart: a daemon stopped on its own (status $status)"
  rest=()
  for p in "${pids[@]}"; do [[ "$p" == "$done_pid" ]] || rest+=("$p"); done
  pids=("${rest[@]}")
  stop 1
done
