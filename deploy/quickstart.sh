#!/usr/bin/env bash
# Rampart's main job on one machine: installs dependencies, builds the
# release preset, generates a CA, certificates and example configurations
# under run/, then starts a controller and an agent in the foreground.
# Ctrl-C (or SIGTERM) stops both cleanly. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash deploy/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target rampart-agent rampart-controller rampartctl rampart_ui_assets
bin="$root/build/release/bin"

run="$root/run"
mkdir -p "$run"
chmod 700 "$run"
if [[ ! -f "$run/pki/ca.crt" ]]; then
  "$bin/rampartctl" pki init --dir "$run/pki" --host localhost --host 127.0.0.1 --host ::1
fi
sed -e "s|@RUN@|$run|g" deploy/config/controller.example.yaml >"$run/controller.yaml"
sed -e "s|@RUN@|$run|g" deploy/config/agent.example.yaml >"$run/agent.yaml"
"$bin/rampart-controller" check-config --config "$run/controller.yaml"
"$bin/rampart-agent" check-config --config "$run/agent.yaml"

# The UI's first admin, created once; the password is printed once, here.
ui_note="UI: https://localhost:8443  user: admin"
if password=$("$bin/rampartctl" user add admin --role admin --generate-password --data-dir "$run/controller" 2>/dev/null); then
  ui_note="$ui_note  password: $password  (shown once; change it: rampartctl user passwd admin --data-dir $run/controller)"
else
  ui_note="$ui_note  (password printed by the first quickstart; reset: rampartctl user passwd admin --data-dir $run/controller)"
fi

pids=()
stop() {
  echo "quickstart: stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait
  echo "quickstart: stopped"
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
  "$bin/rampart-agent" enroll --controller 127.0.0.1:4317 --token-file "$token_file" \
    --ca-sha256 "$("$bin/rampartctl" pki fingerprint "$run/pki/ca.crt")" --config "$run/agent.yaml"
  rm -f "$token_file"
fi
"$bin/rampart-agent" run --config "$run/agent.yaml" &
pids+=($!)
echo "quickstart: controller and agent running (logs above); press Ctrl-C to stop"
echo "quickstart: $ui_note"
wait
