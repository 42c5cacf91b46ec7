#!/usr/bin/env bash
# Runs Deploy/bench-onnx.py (ONNX Runtime peer of `plutchik bench encoder`) in its own venv,
# $HOME/.cache/plutchik/onnx-venv, made here when missing or when the pinned versions change
# (Debian's python3; installs python3-venv with apt only if it is missing). Also fetches the model
# and the corpus (idempotent). Arguments go to the script, e.g.
#   Deploy/bench-onnx.sh --check
#   Deploy/bench-onnx.sh --order all --threads 1 --batch 32
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="$HOME/.cache/plutchik/onnx-venv"
py="${PYTHON:-/usr/bin/python3}"
reqs="onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6 safetensors==0.8.0 tokenizers==0.23.3"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$reqs" ]; then
  if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
  fi
  "$py" -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $reqs >&2
  echo "$reqs" > "$venv/.requirements"
fi
Deploy/fetch-model.sh
Deploy/fetch-corpus.sh >/dev/null
exec "$venv/bin/python" Deploy/bench-onnx.py "$@"
