#!/usr/bin/env bash
# The main job on embedded defaults: installs what is missing, builds, and runs `plutchik demo`:
# an embedded Kafka broker, the bundled dialogues, the processor, audits to PostgreSQL.
# Without DATABASE_URL a throw-away PostgreSQL on loopback is started and removed afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
Deploy/install-deps.sh
echo "== build (release)" >&2
swift build -c release --product plutchik 2>&1 | grep -E 'error|warning: |Build complete' || true
swift build -c release --product plutchik >/dev/null
exec Deploy/postgres.sh with .build/release/plutchik demo "$@"
