#!/bin/sh
# Replays the demo dialogues into the turns topic with kcat, keyed by dialogue_id (so each
# dialogue stays on one partition, in order), one turn every REPLAY_DELAY seconds.
# Each round renames the dialogues (r1-demo-001, r2-demo-001, ...) so a round is new conversations;
# the turns carry no ts, so the processor uses the record timestamp.
# POSIX sh, for the kcat image (docker-compose.yml service `replay`).
#   KAFKA_BROKERS  (kafka:9092)   REPLAY_TOPIC (plutchik.turns)   REPLAY_FILE (/demo/dialogues.jsonl)
#   REPLAY_DELAY   (0.2 s)        REPLAY_ROUNDS (0: forever)
set -eu
file="${REPLAY_FILE:-/demo/dialogues.jsonl}"
brokers="${KAFKA_BROKERS:-kafka:9092}"
topic="${REPLAY_TOPIC:-plutchik.turns}"
delay="${REPLAY_DELAY:-0.2}"
rounds="${REPLAY_ROUNDS:-0}"
tab="$(printf '\t')"   # key delimiter: a raw tab never occurs inside a JSON line

round=1
while [ "$rounds" -eq 0 ] || [ "$round" -le "$rounds" ]; do
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    line="$(printf '%s\n' "$line" | sed "s/\"dialogue_id\": *\"/&r$round-/")"
    key="$(printf '%s\n' "$line" | sed -n 's/.*"dialogue_id": *"\([^"]*\)".*/\1/p')"
    printf '%s\t%s\n' "$key" "$line"
    sleep "$delay"
  done < "$file"
  echo "replay: round $round done" >&2
  round=$((round + 1))
done | kcat -P -b "$brokers" -t "$topic" -K "$tab"
