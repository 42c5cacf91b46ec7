#!/usr/bin/env bash
# Installs what plutchik-stream needs on Debian 12, idempotently:
#   apt: librdkafka-dev libopenblas-dev libpq-dev postgresql kcat
#   the all-MiniLM-L6-v2 model files into $PLUTCHIK_MODEL_DIR (see fetch-model.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

apt_packages=(librdkafka-dev libopenblas-dev libpq-dev postgresql kcat pkg-config)
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

if [ "${PLUTCHIK_SKIP_MODEL:-0}" != "1" ]; then
  "$here/fetch-model.sh"
fi
