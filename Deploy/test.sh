#!/usr/bin/env bash
# Runs every test of plutchik-stream on a fresh Debian 12 machine with Swift 6.3:
# installs what is missing (apt packages, the model files, Python reference tools), builds,
# checks the CLI against the embedded broker, then runs the Swift test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

Deploy/install-deps.sh

# The run's temporary files, the tests' own PostgreSQL servers among them, all go in one
# directory, removed at the end, so even a crashed test process leaves nothing behind.
scratch="$(mktemp -d /tmp/plutchik-test.XXXXXX)"
chmod 755 "$scratch"  # the postgres user must reach the servers' directories inside
export TMPDIR="$scratch"
cleanup() {
  # A test process that crashes leaves the plutchik children it started (broker, run) running.
  pkill -KILL -f "^$PWD/\.build/.*/plutchik " || true
  for d in "$scratch"/plutchik-pg-* "$scratch"/test-pg; do
    [ -d "$d" ] && Deploy/postgres.sh stop "$d"
  done
  rm -rf "$scratch"
}
trap cleanup EXIT

echo "== PostgreSQL on loopback" >&2
PLUTCHIK_TEST_DATABASE_URL="$(Deploy/postgres.sh start "$scratch/test-pg")"
export PLUTCHIK_TEST_DATABASE_URL

echo "== build" >&2
swift build --build-tests 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write|Linking)' || true
swift build --build-tests >/dev/null  # fail here if the build failed

echo "== CLI: plutchik broker, kcat, SIGTERM" >&2
Deploy/check-broker.sh .build/debug/plutchik

echo "== CLI: plutchik run's /readyz, /healthz and /metrics" >&2
DATABASE_URL="$PLUTCHIK_TEST_DATABASE_URL" Deploy/check-endpoints.sh .build/debug/plutchik

echo "== HTTP API and live web view: plutchik demo --http-port, check-api.py, headless Chromium" >&2
Deploy/check-web.sh .build/debug/plutchik "$scratch/web"

echo "== CLI: plutchik smoke" >&2
.build/debug/plutchik smoke --messages 500 --log-level warning

echo "== CLI: a bad config file names the bad key; secrets stay out of errors" >&2
cfg="$(mktemp)"
printf '# a typo\nKAFKA_BROKER=127.0.0.1:9\n' > "$cfg"
if msg="$(.build/debug/plutchik migrate --config "$cfg" 2>&1)"; then echo "bad config accepted" >&2; exit 1; fi
echo "$msg" | grep -q "unknown setting 'KAFKA_BROKER'" || { echo "bad config not named: $msg" >&2; exit 1; }
printf 'DATABASE_URL="postgresql://u:s3cret@127.0.0.1:1/x?connect_timeout=2"\n' > "$cfg"
msg="$(.build/debug/plutchik migrate --config "$cfg" 2>&1 || true)"
echo "$msg" | grep -q "cannot connect" && ! echo "$msg" | grep -q s3cret || { echo "unexpected: $msg" >&2; exit 1; }
rm -f "$cfg"
echo "config: ok"

echo "== CLI: plutchik train --refit refuses train and val that share a dialogue" >&2
cfg="$(mktemp)"
printf '{"dialogue_id":"d1","turn_id":1,"speaker":"a","text":"hi","emotion":"joy","sarcasm_flag":false}\n' > "$cfg"
if msg="$(.build/debug/plutchik train --train "$cfg" --val "$cfg" --out "$cfg.out" --refit 2>&1)"; then echo "overlap accepted" >&2; exit 1; fi
echo "$msg" | grep -q "share dialogue ids (e.g. d1)" || { echo "overlap not named: $msg" >&2; exit 1; }
rm -f "$cfg"
echo "train: ok"

echo "== CLI: JSON logs" >&2
line="$(.build/debug/plutchik migrate --log-format json --database-url "$PLUTCHIK_TEST_DATABASE_URL" 2>&1 >/dev/null | head -1)"
python3 -c 'import json, sys; o = json.loads(sys.argv[1]); assert o["level"] == "info" and o["message"] == "migrations applied" and "db.url" in o["metadata"] and o["ts"], o' "$line"
echo "json logs: ok"
printf 'tenant.acme.alert_upper=high\n' > "$cfg.conf"
if msg="$(.build/debug/plutchik run --config "$cfg.conf" 2>&1)"; then echo "bad tenant setting accepted" >&2; exit 1; fi
echo "$msg" | grep -q "tenant.acme.alert_upper" || { echo "bad tenant setting not named: $msg" >&2; exit 1; }
rm -f "$cfg.conf"
echo "tenant settings: ok"

echo "== deploy manifests" >&2; python3 Deploy/check-deploy.py

echo "== CLI: plutchik demo and score; their output against the schemas" >&2
out="$(mktemp -d)"
DATABASE_URL="$PLUTCHIK_TEST_DATABASE_URL" .build/debug/plutchik demo --rate 0 \
  --events-out "$out/events.jsonl" --alerts-out "$out/alerts.jsonl" | tail -8
python3 Deploy/check-deploy.py --events "$out/events.jsonl"
python3 Deploy/check-deploy.py --events "$out/alerts.jsonl" --schema Schemas/escalation-alert.schema.json
.build/debug/plutchik score --input Deploy/demo/dialogues.jsonl --output "$out/scored.jsonl"
python3 Deploy/check-deploy.py --events "$out/scored.jsonl"
# score carries the stream's escalation object on every event, each dialogue's forecast in turn order.
python3 -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev and all(0 <= e["escalation"]["risk"] <= 1 for e in ev), "score events without escalation"
by = {}
for e in ev: by.setdefault(e["dialogue_id"], []).append(e["escalation"]["risk"])
assert len(set(round(r, 6) for e in by.values() for r in e)) > len(by), "escalation risk does not move within dialogues"
print("score escalation: ok (%d events, %d alerts)" % (len(ev), sum(e["escalation"]["alert"] for e in ev)))' "$out/scored.jsonl"
rm -rf "$out"

echo "== swift test" >&2
log="$(mktemp)"
set +e
swift test --skip-build 2>&1 | grep --line-buffered -Ev '^(◇|↳) |^\[[0-9]+/[0-9]+\] ' | tee "$log"
status=${PIPESTATUS[0]}
set -e
# An empty run is a failure too.
grep -Eq 'Test run with [1-9][0-9]* tests?' "$log" || { echo "test.sh: swift test ran no test" >&2; exit 1; }
exit "$status"
