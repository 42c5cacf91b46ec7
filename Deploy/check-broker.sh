#!/usr/bin/env bash
# Checks `plutchik broker`: it comes up, writes its bootstrap file, kcat lists the topic with
# the requested partitions, and SIGTERM ends it with status 0.
set -euo pipefail
bin="${1:-.build/debug/plutchik}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
"$bin" broker --topic t:6 --bootstrap-file "$dir/bootstrap" --log-level warning >"$dir/out" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$dir/bootstrap" ] && break; sleep 0.1; done
[ -s "$dir/bootstrap" ] || { echo "check-broker: no bootstrap file after 10 s"; cat "$dir/out"; kill -9 $pid; exit 1; }
meta="$(timeout 20 kcat -b "$(cat "$dir/bootstrap")" -L)"
echo "$meta" | grep -q 'topic "t" with 6 partitions' || { echo "check-broker: kcat did not list t with 6 partitions:"; echo "$meta"; kill -9 $pid; exit 1; }
kill -TERM $pid
status=0; wait $pid || status=$?
[ $status -eq 0 ] || { echo "check-broker: broker exited $status on SIGTERM"; cat "$dir/out"; exit 1; }
echo "check-broker: ok (topic t with 6 partitions; SIGTERM exit 0)"
