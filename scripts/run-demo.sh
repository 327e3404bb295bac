#!/usr/bin/env bash
# `make run`: demo data, then the web app and the scheduler (SLA reminders, escalations, link expiry)
# side by side; Ctrl+C stops both. HOST/PORT choose where the app listens; mail links follow them unless
# SERTEL_BASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
SERTEL=.venv/bin/sertel
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-5000}
INTERVAL=${SCHEDULER_INTERVAL:-30}
if [ -z "${SERTEL_BASE_URL:-}" ]; then
  shown=$HOST
  [ "$shown" = "0.0.0.0" ] && shown=127.0.0.1
  export SERTEL_BASE_URL="http://$shown:$PORT"
fi

"$SERTEL" demo

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$SERTEL" scheduler --interval "$INTERVAL" &
pids+=($!)
"$SERTEL" run --host "$HOST" --port "$PORT" &
pids+=($!)
echo "Sertel berjalan di $SERTEL_BASE_URL dengan penjadwal (setiap $INTERVAL detik). Ctrl+C untuk berhenti."
# Whichever process ends first (or Ctrl+C) ends the demo, and `stop` ends the other.
wait -n "${pids[@]}" || true
