#!/usr/bin/env bash
# The HTTP gateway and the live web view, end to end, in a real browser:
#   - installs Debian's chromium if missing;
#   - replays the demo dialogues through the embedded broker, the processor and the HTTP server
#     (plutchik demo --http-port P --keep-serving) against a throw-away PostgreSQL;
#   - checks POST /v1/analyze's answers against /openapi.json (Deploy/check-api.py);
#   - opens /, a dialogue's page and /try in headless Chromium and checks the rendered DOM: every
#     demo dialogue id on /, the dialogue with the most alerts showing its audited turn count and
#     one alert mark per alert, a result on /try;
#   - saves screenshots (1280×800 and phone width) into OUT_DIR;
#   - checks that no API key reached the log, and that SIGTERM stops the server cleanly.
# Usage: Deploy/check-web.sh [PLUTCHIK_BINARY] [OUT_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-.build/debug/plutchik}"
out="${2:-${TMPDIR:-/tmp}/plutchik-web}"
mkdir -p "$out"

if ! command -v chromium >/dev/null; then
  echo "check-web: installing chromium" >&2
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null ||
    { $sudo_cmd apt-get update -qq && $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
fi
command -v chromium >/dev/null || { echo "check-web: chromium is missing: apt-get install chromium" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/plutchik-web.XXXXXX")"
chmod 755 "$work"
demo_pid=""
cleanup() {
  [ -n "$demo_pid" ] && kill -KILL "$demo_pid" 2>/dev/null || true
  Deploy/postgres.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

db="$(Deploy/postgres.sh start "$work/pg")"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
viewer="viewer-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
tenant_key="acme-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
base="http://127.0.0.1:$port"

PLUTCHIK_API_KEYS="*=$viewer,acme-telecom=$tenant_key" DATABASE_URL="$db" \
  "$bin" demo --rate 0 --http-port "$port" --http-host 127.0.0.1 --keep-serving --http-max-in-flight 4 --log-level info \
  >"$work/demo.out" 2>"$work/demo.log" &
demo_pid=$!
for _ in $(seq 1 600); do
  grep -q "stay up on port" "$work/demo.log" 2>/dev/null && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.log" >&2; echo "check-web: the demo stopped" >&2; exit 1; }
  sleep 0.5
done
grep -q "stay up on port" "$work/demo.log" || { tail -20 "$work/demo.log" >&2; echo "check-web: the demo did not finish in 300 s" >&2; exit 1; }
echo "check-web: demo replayed; server on $base" >&2

python3 Deploy/check-api.py "$base" acme-telecom "$tenant_key" "$viewer"

browse() {  # browse OUTPUT_KIND FILE PATH [WIDTH,HEIGHT]: the page after signing in with the viewer key
  local next; next="$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$3")"
  local url="$base/login?key=$viewer&next=$next"
  local flags=(--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$work/chrome-$RANDOM"
               --window-size="${4:-1280,800}")
  if [ "$1" = dom ]; then
    timeout 60 chromium "${flags[@]}" --dump-dom "$url" >"$2" 2>/dev/null
  else
    timeout 60 chromium "${flags[@]}" --screenshot="$2" "$url" >/dev/null 2>&1
    [ -s "$2" ] || { echo "check-web: no screenshot of $3" >&2; exit 1; }
  fi
}

# 1. The list: every demo dialogue, each linked.
browse dom "$work/list.html" /
python3 - "$work/list.html" Deploy/demo/dialogues.jsonl <<'PY'
import json, sys
html = open(sys.argv[1]).read()
ids = sorted({json.loads(l)["dialogue_id"] for l in open(sys.argv[2]) if l.strip()})
missing = [i for i in ids if f'href="/dialogues/{i}"' not in html]
assert not missing, f"dialogues missing on /: {missing}"
print(f"check-web: / lists all {len(ids)} demo dialogues")
PY

# 2. The dialogue with the most alerts: its audited turns and its alerts, as the audit has them.
read -r dialogue turns alerts < <(psql "$db" -Atq -F ' ' -c \
  "SELECT dialogue_id, count(*), count(*) FILTER (WHERE escalation_alert) FROM emotion_audit GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 1")
[ "${alerts:-0}" -gt 0 ] || { echo "check-web: the demo raised no alert" >&2; exit 1; }
browse dom "$work/dialogue.html" "/dialogues/$dialogue"
python3 - "$work/dialogue.html" "$dialogue" "$turns" "$alerts" <<'PY'
import re, sys
html, dialogue, turns, alerts = open(sys.argv[1]).read(), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = len(re.findall(r'<tr class="turn[ "]', html))
marks = len(re.findall(r'<g class="alert-mark"', html))
assert rows == turns, f"{dialogue}: {rows} turn rows, the audit has {turns}"
assert marks == alerts, f"{dialogue}: {marks} alert marks, the audit has {alerts}"
assert 'class="radar"' in html and 'class="trajectory"' in html, "radar or trajectory missing"
print(f"check-web: /dialogues/{dialogue} shows its {turns} turns and {alerts} alert marks")
PY

# 3. /try: a typed turn (after an earlier one) gets a result.
try_path="/try?text=This+is+the+third+time+I+call,+fix+it+now!&context=agent:+How+can+I+help?"
browse dom "$work/try.html" "$try_path"
grep -q 'data-testid="label">[a-z]*</span>' "$work/try.html" || { echo "check-web: no result on /try" >&2; exit 1; }
grep -q '<h3>Earlier turns</h3>' "$work/try.html" || { echo "check-web: /try lost the earlier turn" >&2; exit 1; }
echo "check-web: /try shows a result: $(grep -o 'data-testid="label">[a-z]*' "$work/try.html" | head -1 | cut -d'>' -f2)"

# 4. Screenshots.
browse png "$out/live-dialogues.png" /
browse png "$out/dialogue.png" "/dialogues/$dialogue?explain=1" 1280,1100
browse png "$out/try.png" "$try_path" 1280,1000
browse png "$out/live-dialogues-phone.png" / 390,844
browse png "$out/dialogue-phone.png" "/dialogues/$dialogue" 390,1400
echo "check-web: screenshots in $out" >&2

# 5. Keys stay out of the log; SIGTERM stops the server cleanly.
if grep -qe "$viewer" -e "$tenant_key" "$work/demo.log" "$work/demo.out"; then echo "check-web: an API key reached the log" >&2; exit 1; fi
kill -TERM "$demo_pid"
rc=0; wait "$demo_pid" || rc=$?
demo_pid=""
[ "$rc" -eq 0 ] || { tail -20 "$work/demo.log" >&2; echo "check-web: the demo exited $rc on SIGTERM" >&2; exit 1; }
echo "check-web: ok"
