#!/usr/bin/env bash
# Checks `plutchik run`'s HTTP endpoints against `plutchik broker` and DATABASE_URL: /readyz turns
# 200 once partitions are assigned, /healthz answers "ok", /metrics serves the plutchik_ families,
# and SIGTERM drains with status 0.
#   Deploy/check-endpoints.sh [BIN]   (DATABASE_URL must be set)
set -euo pipefail
bin="${1:-.build/debug/plutchik}"
: "${DATABASE_URL:?check-endpoints: DATABASE_URL is not set}"
dir="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
fail() { echo "check-endpoints: $*"; cat "$dir"/*.log 2>/dev/null | tail -20; exit 1; }
get() { python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5); print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
except OSError:
    print(0)
PY
}

"$bin" broker --topic endpoints.turns:2 --bootstrap-file "$dir/bootstrap" --log-level warning >"$dir/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/bootstrap" ] && break; sleep 0.1; done
[ -s "$dir/bootstrap" ] || fail "no broker bootstrap file after 10 s"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" run --brokers "$(cat "$dir/bootstrap")" --database-url "$DATABASE_URL" --migrate --group-id endpoints \
  --input-topic endpoints.turns --metrics-port "$port" --log-level warning >"$dir/run.log" 2>&1 &
run=$!
pids+=($run)
url="http://127.0.0.1:$port"
for _ in $(seq 120); do
  ready="$(get "$url/readyz")"
  [ "${ready%%$'\n'*}" = 200 ] && break
  kill -0 $run 2>/dev/null || fail "plutchik run exited"
  sleep 0.5
done
[ "${ready%%$'\n'*}" = 200 ] || fail "/readyz not 200 after 60 s: $ready"
[[ "$ready" == *"ready: 2 partitions"* ]] || fail "/readyz: $ready"
health="$(get "$url/healthz")"
[ "$health" = "$(printf '200\nok')" ] || fail "/healthz: $health"
metrics="$(get "$url/metrics")"
[[ "$metrics" == *"# TYPE plutchik_"* ]] || fail "/metrics has no plutchik_ family"
kill -TERM $run
status=0; wait $run || status=$?
[ $status -eq 0 ] || fail "plutchik run exited $status on SIGTERM"
kill -TERM "${pids[0]}"; wait "${pids[0]}" || true
pids=()
echo "check-endpoints: ok (/readyz 200 with 2 partitions, /healthz ok, /metrics, SIGTERM exit 0)"
