#!/usr/bin/env bash
# The main job on embedded defaults: installs what is missing, builds, and runs the demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
Deploy/install-deps.sh
swift build -c release --product plutchik 2>&1 | grep -E 'error|warning: |Compiling plutchik|Build complete' || true
swift build -c release --product plutchik >/dev/null
exec .build/release/plutchik smoke "$@"
