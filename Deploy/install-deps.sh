#!/usr/bin/env bash
# Installs what plutchik-stream needs on Debian 12, idempotently:
#   apt: librdkafka-dev libopenblas-dev libpq-dev libphonenumber-dev postgresql kcat pkg-config procps
#   python: pyyaml jsonschema (for Deploy/check-deploy.py)
#   the all-MiniLM-L6-v2 model files into $PLUTCHIK_MODEL_DIR (see fetch-model.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

apt_packages=(librdkafka-dev libopenblas-dev libpq-dev libphonenumber-dev postgresql kcat pkg-config procps)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PyYAML and jsonschema, for Deploy/check-deploy.py. pip first; Debian's own python3 refuses
# pip installs (PEP 668), so fall back to its packages (python3-jsonschema 4.10 has draft 2020-12).
if ! python3 -c 'import yaml, jsonschema' >/dev/null 2>&1; then
  echo "install-deps: installing pyyaml jsonschema" >&2
  python3 -m pip install --quiet --disable-pip-version-check pyyaml jsonschema >/dev/null 2>&1 || {
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-yaml python3-jsonschema >/dev/null
  }
fi

if [ "${PLUTCHIK_SKIP_MODEL:-0}" != "1" ]; then
  "$here/fetch-model.sh"
fi
