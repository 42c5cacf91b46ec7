#!/usr/bin/env bash
# `plutchik bench pipeline` with a throw-away PostgreSQL (unless DATABASE_URL is set) and the
# benchmark corpus (Deploy/fetch-corpus.sh). Extra arguments go to the command, e.g. --rate 150.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
Deploy/install-deps.sh
Deploy/fetch-corpus.sh >/dev/null
swift build -c release --product plutchik >/dev/null
if [ -z "${DATABASE_URL:-}" ]; then
  pgdir="$(mktemp -d -u /tmp/plutchik-bench-pg.XXXXXX)"
  DATABASE_URL="$(Deploy/postgres.sh start "$pgdir")"
  export DATABASE_URL
  trap 'Deploy/postgres.sh stop "$pgdir"' EXIT
fi
.build/release/plutchik bench pipeline --json "$@"
