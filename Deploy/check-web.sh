#!/usr/bin/env bash
# The HTTP gateway and the live web view, end to end, in a real browser:
#   - installs Debian's chromium if missing;
#   - replays the demo dialogues through the embedded broker, the processor and the HTTP server
#     (plutchik demo --http-port P --keep-serving) against a throw-away PostgreSQL;
#   - checks POST /v1/analyze's answers against /openapi.json (Deploy/check-api.py);
#   - signs in by POSTing a tenant key into /login's form in headless Chromium (Deploy/browse.py;
#     the session cookie checked: HttpOnly, SameSite=Strict, expiring, not the key), then checks the
#     rendered DOM of /, the tenant's dialogue with the most alerts and /try: every one of the
#     tenant's dialogues on / and none of another tenant's, that tenant's dialogue page not found,
#     the audited turn count and one alert mark per alert, a result on /try; and that GET /login?key=
#     does not sign in and the API refuses the session cookie;
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
globex_key="globex-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
northwind_key="northwind-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
base="http://127.0.0.1:$port"

PLUTCHIK_API_KEYS="*=$viewer,acme-telecom=$tenant_key,globex-retail=$globex_key,northwind-bank=$northwind_key" DATABASE_URL="$db" \
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

# Every page below is read by Chromium signed in as a person does (Deploy/browse.py): a tenant's
# key (not the all-tenant one) typed into /login's form and POSTed; the session cookie is checked.
# The tenant is the one whose dialogue raised the most alerts.
read -r tenant dialogue turns alerts < <(psql "$db" -Atq -F ' ' -c \
  "SELECT tenant, dialogue_id, count(*), count(*) FILTER (WHERE escalation_alert) FROM emotion_audit GROUP BY 1, 2 ORDER BY 4 DESC, 2 LIMIT 1")
[ "${alerts:-0}" -gt 0 ] || { echo "check-web: the demo raised no alert" >&2; exit 1; }
case "$tenant" in
  acme-telecom) browse_key="$tenant_key" ;; globex-retail) browse_key="$globex_key" ;; northwind-bank) browse_key="$northwind_key" ;;
  *) echo "check-web: unexpected tenant '$tenant'" >&2; exit 1 ;;
esac

# 0. GET /login?key= never signs in, and the API does not take the session cookie.
curl -s -D "$work/get-login.h" -o /dev/null "$base/login?key=$tenant_key&next=/"
! grep -qi '^set-cookie' "$work/get-login.h" || { echo "check-web: GET /login?key= signed in" >&2; exit 1; }
grep -qi "^content-security-policy: default-src 'none'; script-src 'self'" "$work/get-login.h" || { echo "check-web: no CSP on /login" >&2; exit 1; }
cookie="$(curl -s -D - -o /dev/null -H 'Sec-Fetch-Site: same-origin' --data-urlencode "key=$tenant_key" "$base/login" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\);.*/\1/p')"
[ -n "$cookie" ] && [ "${cookie#*$tenant_key}" = "$cookie" ] || { echo "check-web: POST /login gave no opaque session cookie" >&2; exit 1; }
code="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" --data '{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"hi"}' "$base/v1/analyze")"
[ "$code" = 401 ] || { echo "check-web: the API took the session cookie ($code)" >&2; exit 1; }
echo "check-web: GET /login does not sign in; POST /login gives an opaque cookie the API refuses" >&2

# 1. The list: every dialogue of the tenant, linked at /dialogues/TENANT/ID, and no other tenant's.
other="$(python3 -c 'import json,sys; print(sorted(d["dialogue_id"] for d in map(json.loads, filter(str.strip, open(sys.argv[1]))) if d.get("tenant") != sys.argv[2])[0])' Deploy/demo/dialogues.jsonl "$tenant")"
other_tenant="$(python3 -c 'import json,sys; print(next(d["tenant"] for d in map(json.loads, filter(str.strip, open(sys.argv[1]))) if d["dialogue_id"] == sys.argv[2]))' Deploy/demo/dialogues.jsonl "$other")"
try_path="/try?text=This+is+the+third+time+I+call,+fix+it+now!&context=agent:+How+can+I+help?"
python3 Deploy/browse.py "$base" "$browse_key" \
  "dom:$work/list.html:/" "dom:$work/dialogue.html:/dialogues/$tenant/$dialogue" "dom:$work/other.html:/dialogues/$other_tenant/$other" \
  "dom:$work/try.html:$try_path" \
  "png:$out/live-dialogues.png:/:1280x800" "png:$out/dialogue.png:/dialogues/$tenant/$dialogue?explain=1:1280x1100" \
  "png:$out/try.png:$try_path:1280x1000" "png:$out/live-dialogues-phone.png:/:390x844" "png:$out/dialogue-phone.png:/dialogues/$tenant/$dialogue:390x1400"
python3 - "$work/list.html" Deploy/demo/dialogues.jsonl "$tenant" <<'PY'
import json, re, sys
html, tenant = open(sys.argv[1]).read(), sys.argv[3]
turns = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
mine = sorted({t["dialogue_id"] for t in turns if t.get("tenant") == tenant})
others = sorted({t["dialogue_id"] for t in turns if t.get("tenant") != tenant})
missing = [i for i in mine if f'href="/dialogues/{tenant}/{i}"' not in html]
assert not missing, f"{tenant}'s dialogues missing on /: {missing}"
shown = [i for i in others if re.search(rf'data-dialogue="{re.escape(i)}"', html)]
assert not shown, f"another tenant's dialogues on {tenant}'s list: {shown}"
print(f"check-web: / lists all {len(mine)} of {tenant}'s dialogues and none of the other {len(others)}")
PY
grep -q "No such dialogue" "$work/other.html" && ! grep -q '<tr class="turn' "$work/other.html" ||
  { echo "check-web: $tenant sees /dialogues/$other_tenant/$other" >&2; exit 1; }
echo "check-web: $tenant gets 'not found' for $other_tenant's $other" >&2

# 2. The tenant's dialogue with the most alerts: its audited turns and its alerts, as the audit has them.
python3 - "$work/dialogue.html" "$tenant/$dialogue" "$turns" "$alerts" <<'PY'
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
grep -q 'data-testid="label">[a-z]*</span>' "$work/try.html" || { echo "check-web: no result on /try" >&2; exit 1; }
grep -q '<h3>Earlier turns</h3>' "$work/try.html" || { echo "check-web: /try lost the earlier turn" >&2; exit 1; }
echo "check-web: /try shows a result: $(grep -o 'data-testid="label">[a-z]*' "$work/try.html" | head -1 | cut -d'>' -f2)"

# 4. Screenshots (taken above).
for f in live-dialogues dialogue try live-dialogues-phone dialogue-phone; do
  [ -s "$out/$f.png" ] || { echo "check-web: no screenshot $f.png" >&2; exit 1; }
done
echo "check-web: screenshots in $out" >&2

# 5. Keys stay out of the log; SIGTERM stops the server cleanly.
if grep -qe "$viewer" -e "$tenant_key" -e "$globex_key" -e "$northwind_key" "$work/demo.log" "$work/demo.out"; then echo "check-web: an API key reached the log" >&2; exit 1; fi
kill -TERM "$demo_pid"
rc=0; wait "$demo_pid" || rc=$?
demo_pid=""
[ "$rc" -eq 0 ] || { tail -20 "$work/demo.log" >&2; echo "check-web: the demo exited $rc on SIGTERM" >&2; exit 1; }
echo "check-web: ok"
