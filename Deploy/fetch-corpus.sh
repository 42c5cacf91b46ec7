#!/usr/bin/env bash
# Fetches the benchmark corpus: the first N messages (default 8000), in file order, of the
# chitchat dataset (PyPI chitchat-dataset==0.9.0, MIT) as JSONL lines
#   {"dialogue_id", "turn_id", "speaker", "ts", "text"}
# turn_id is the message's 0-based index within its dialogue.
# Usage: Deploy/fetch-corpus.sh [OUTPUT] [N]
# Default output: $PLUTCHIK_CORPUS or $HOME/.cache/plutchik/chitchat-8000.jsonl.
# Idempotent: does nothing when the output already has N lines.
set -euo pipefail
n="${2:-8000}"
out="${1:-${PLUTCHIK_CORPUS:-$HOME/.cache/plutchik/chitchat-$n.jsonl}}"
if [ -s "$out" ] && [ "$(wc -l < "$out")" -eq "$n" ]; then
  exit 0
fi
echo "fetch-corpus: downloading chitchat-dataset==0.9.0 → $out ($n messages)" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" chitchat-dataset==0.9.0
mkdir -p "$(dirname "$out")"
python3 - "$(ls "$tmp"/*.whl | head -1)" "$out.tmp" "$n" <<'PY'
import json, sys, zipfile
whl, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with zipfile.ZipFile(whl) as z:
    data = json.loads(z.read("chitchat_dataset/dataset.json"))
written = 0
with open(out, "w", encoding="utf-8") as f:
    for dialogue_id, conv in data.items():          # JSON object order = file order
        turn = 0
        for group in conv["messages"]:               # consecutive messages of one sender
            for m in group:
                if written == n:
                    break
                f.write(json.dumps({"dialogue_id": dialogue_id, "turn_id": turn, "speaker": m["sender"],
                                    "ts": m["timestamp"], "text": m["text"]}, ensure_ascii=False) + "\n")
                turn += 1
                written += 1
        if written == n:
            break
if written < n:
    sys.exit(f"fetch-corpus: only {written} messages available, wanted {n}")
PY
mv "$out.tmp" "$out"
echo "fetch-corpus: ok ($out)" >&2
