#!/usr/bin/env bash
# Checks `plutchik run`'s HTTP endpoints against `plutchik broker` and DATABASE_URL: /readyz turns
# 200 once partitions are assigned, /healthz answers "ok", /metrics serves the plutchik_ families;
# with three members on two partitions, the one holding none is ready too (a rolling update at full
# scale completes) and every instance exports lag only for the partitions it holds; SIGTERM drains
# with status 0; SIGHUP reloads the tenant settings, refusing a bad file by key; a changed model
# directory is noticed and the new model loaded beside the running one.
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
printf 'tenant.acme.alert_upper=0.7\n' > "$dir/plutchik.conf"
cp -r "$(dirname "${BASH_SOURCE[0]}")/../Models/heads" "$dir/heads"
"$bin" run --config "$dir/plutchik.conf" --brokers "$(cat "$dir/bootstrap")" --database-url "$DATABASE_URL" --migrate --group-id endpoints \
  --input-topic endpoints.turns --metrics-port "$port" --log-level info --heads-dir "$dir/heads" --model-poll 1 >"$dir/run.log" 2>&1 &
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
# SIGHUP reloads the tenant settings; a bad file is refused by key and the running settings stay.
printf 'tenant.acme.alert_upper=high\n' > "$dir/plutchik.conf"; kill -HUP $run
for _ in $(seq 40); do grep -q "tenant settings not reloaded" "$dir/run.log" && break; sleep 0.25; done
grep "tenant settings not reloaded" "$dir/run.log" | grep -q "tenant.acme.alert_upper" || fail "a bad tenant setting on SIGHUP was not refused by key"
printf 'tenant.acme.alert_upper=0.8\ntenant.*.hash_texts=true\n' > "$dir/plutchik.conf"; kill -HUP $run
for _ in $(seq 40); do grep -q "tenant settings reloaded" "$dir/run.log" && break; sleep 0.25; done
grep -q "tenant settings reloaded" "$dir/run.log" || fail "SIGHUP did not reload the tenant settings"
kill -0 $run 2>/dev/null || fail "plutchik run exited on SIGHUP"
# A new model in the heads directory is loaded beside the running one, to take over between batches.
python3 - "$dir/heads/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["version"] = "endpoints-reload"; json.dump(m, open(sys.argv[1], "w"))
PY
for _ in $(seq 60); do grep -q "new model loaded" "$dir/run.log" && break; sleep 0.5; done
grep "new model loaded" "$dir/run.log" | grep -q "endpoints-reload" || fail "a changed model directory was not loaded within 30 s (--model-poll 1)"

# Two more members: the group rebalances to three members on two partitions.
urls=("$url")
for i in 2 3; do
  p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$bin" run --brokers "$(cat "$dir/bootstrap")" --database-url "$DATABASE_URL" --group-id endpoints \
    --input-topic endpoints.turns --metrics-port "$p" --log-level warning >"$dir/run$i.log" 2>&1 &
  pids+=($!)
  urls+=("http://127.0.0.1:$p")
done
for _ in $(seq 180); do
  all=1; held=0; lags=0
  for u in "${urls[@]}"; do
    r="$(get "$u/readyz")"
    [ "${r%%$'\n'*}" = 200 ] || all=0
    held=$((held + $(echo "$r" | sed -n 's/^ready: \([0-9]*\) partitions.*/\1/p' | grep . || echo 9)))
    lags=$((lags + $(get "$u/metrics" | grep -c '^plutchik_consumer_lag{' || true)))
  done
  [ $all -eq 1 ] && [ $held -eq 2 ] && [ $lags -le 2 ] && break
  sleep 0.5
done
[ $all -eq 1 ] || fail "not every member of a group of three on two partitions is ready after 90 s"
[ $held -eq 2 ] || fail "the three members hold $held partitions, not 2"
idle=""
for u in "${urls[@]}"; do
  m="$(get "$u/metrics")"
  n="$(echo "$m" | sed -n 's/^plutchik_assigned_partitions \([0-9.]*\).*/\1/p')"
  l="$(echo "$m" | grep -c '^plutchik_consumer_lag{' || true)"
  [ "${n%.*}" = "$(get "$u/readyz" | sed -n 's/^ready: \([0-9]*\) partitions.*/\1/p')" ] || fail "$u: plutchik_assigned_partitions $n disagrees with /readyz"
  [ "$l" -le "${n%.*}" ] || fail "$u: $l lag series for ${n%.*} partitions (revoked partitions' lag kept)"
  [ "${n%.*}" = 0 ] && idle="$u"
done
[ -n "$idle" ] || fail "no member holds zero partitions"
for i in 1 2; do kill -TERM "${pids[$((i + 1))]}"; wait "${pids[$((i + 1))]}" || true; done
health="$(get "$url/healthz")"
[ "$health" = "$(printf '200\nok')" ] || fail "/healthz: $health"
metrics="$(get "$url/metrics")"
[[ "$metrics" == *"# TYPE plutchik_"* ]] || fail "/metrics has no plutchik_ family"
kill -TERM $run
status=0; wait $run || status=$?
[ $status -eq 0 ] || fail "plutchik run exited $status on SIGTERM"
kill -TERM "${pids[0]}"; wait "${pids[0]}" || true
pids=()
echo "check-endpoints: ok (/readyz 200 with 2 partitions, and on a member holding none; lag only for held partitions; /healthz ok, /metrics, SIGTERM exit 0)"
