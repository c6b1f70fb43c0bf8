#!/usr/bin/env bash
# Install torrentdesk into ./.venv (once) and run it; arguments go to `torrentdesk`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/common.sh"
ensure_venv
exec "$VENV/bin/torrentdesk" "$@"
