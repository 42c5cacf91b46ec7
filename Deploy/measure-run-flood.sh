#!/usr/bin/env bash
# Measures what a /try flood does to the stream beside it, under `plutchik run` on loopback: the
# consumer lag while turns arrive at RATE turns/s, first unloaded, then while 300 clients flood
# /try with one tenant's key; and another tenant's /v1/analyze latency during the flood
# (Deploy/measure-http-flood.py). Prints one JSON line per phase. Needs a release build, kcat and
# PostgreSQL (Deploy/install-deps.sh). Usage: Deploy/measure-run-flood.sh [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rate="${1:-300}" seconds="${2:-30}"
bin=.build/release/plutchik work="$(mktemp -d)"; chmod 755 "$work"  # the postgres user must reach its directory
acme=acme-key-0123456789abcdefghijkl globex=globex-key-0123456789abcdefghij
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; Deploy/postgres.sh stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
pids=(); trap cleanup EXIT
"$bin" broker --topic plutchik.turns:2 --topic plutchik.emotions:2 --topic plutchik.escalations:1 --topic plutchik.dlq:1 \
  --bootstrap-file "$work/boot" >"$work/broker.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do [ -s "$work/boot" ] && break; sleep 0.2; done
boot="$(cat "$work/boot")" url="$(Deploy/postgres.sh start "$work/pg" | tail -1)"
PLUTCHIK_API_KEYS="acme=$acme,globex=$globex" KAFKA_BROKERS="$boot" DATABASE_URL="$url" \
  "$bin" run --migrate --http-port 18080 --metrics-port 19464 --log-level warning >"$work/run.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -sf localhost:19464/readyz >/dev/null && break; sleep 0.2; done

produce() {  # chat-corpus turns for tenant acme at $rate turns/s for $1 seconds
  python3 - "$rate" "$1" <<'PY' | kcat -P -b "$boot" -t plutchik.turns -K $'\t'
import json, os, sys, time
rate, secs = float(sys.argv[1]), float(sys.argv[2])
lines = [json.loads(l) for l in open(os.path.expanduser("~/.cache/plutchik/chitchat-8000.jsonl"))]
start, i = time.time(), 0
while time.time() - start < secs:
    t = lines[i % len(lines)]; i += 1
    rec = {"dialogue_id": f"{t['dialogue_id']}-{i // len(lines)}-{start}", "turn_id": t["turn_id"] + 1, "speaker": t["speaker"][:8],
           "text": t["text"], "tenant": "acme"}
    print(rec["dialogue_id"] + "\t" + json.dumps(rec), flush=True)
    time.sleep(max(0, start + i / rate - time.time()))
PY
}
sample() {  # the summed consumer lag every 0.25 s for $2 seconds, as phase $1
  python3 - "$1" "$2" "$rate" <<'PY'
import json, re, sys, time, urllib.request
phase, secs, lags = sys.argv[1], float(sys.argv[2]), []
end = time.time() + secs
while time.time() < end:
    try:
        m = urllib.request.urlopen("http://127.0.0.1:19464/metrics", timeout=2).read().decode()
        lags.append(sum(float(x) for x in re.findall(r"^plutchik_consumer_lag\{[^}]*\} (\S+)", m, re.M)))
    except OSError:
        pass
    time.sleep(0.25)
lags.sort()
print(json.dumps({"phase": phase, "rate": float(sys.argv[3]), "lag_samples": len(lags), "lag_p50": lags[len(lags) // 2],
                  "lag_p95": lags[int(len(lags) * 0.95)], "lag_max": lags[-1]}))
PY
}
produce $((seconds + 8)) & pids+=($!); sleep 4; sample unloaded "$seconds"; sleep 5
PROBE=0 python3 Deploy/measure-http-flood.py 18080 "$acme" "$globex" $((seconds + 12)) 300 >"$work/flood.json" & pids+=($!)
python3 Deploy/measure-http-flood.py 18080 "$acme" "$globex" $((seconds + 12)) 0 >"$work/probe.json" & probe=$!
sleep 3; produce $((seconds + 8)) & pids+=($!); sleep 4; sample flooded "$seconds"
wait "$probe"; tail -1 "$work/probe.json"; sleep 10; tail -1 "$work/flood.json"
