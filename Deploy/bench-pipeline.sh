#!/usr/bin/env bash
# `plutchik bench pipeline` with a throw-away PostgreSQL (unless DATABASE_URL is set) and the
# benchmark corpus (Deploy/fetch-corpus.sh). Extra arguments go to the command, e.g. --rate 150.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
Deploy/install-deps.sh
Deploy/fetch-corpus.sh >/dev/null
swift build -c release --product plutchik >/dev/null
exec Deploy/postgres.sh with .build/release/plutchik bench pipeline --json "$@"
