#!/usr/bin/env bash
# Install what the tests need (Debian daemons when root, ./.venv) and run the whole suite.
# With CI=true a tool that can't be installed fails the run; arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/common.sh"

# Real daemons for the client tests; Chromium for the end-to-end UI tests; Xvfb, Qt WebEngine's
# libraries and ImageMagick (screenshots) for the native window; Node.js runs the browser's
# filter script beside the Python one (tests/test_filter_agreement.py).
DEBIAN_TOOLS=(transmission-daemon rtorrent nginx-light chromium chromium-driver xvfb xauth
  qbittorrent-nox imagemagick nodejs "${QT_WEBENGINE_LIBS[@]}")
if ! apt_install_missing "${DEBIAN_TOOLS[@]}"; then
  if [ "${CI:-}" = true ]; then
    echo "CI: could not install ${DEBIAN_TOOLS[*]}; the tests cannot run" >&2
    exit 1
  fi
  echo "warning: could not install ${DEBIAN_TOOLS[*]}; tests needing them will be skipped" >&2
fi
ensure_venv test
cd "$ROOT"
"$VENV/bin/ruff" check torrentdesk tests
exec "$VENV/bin/python" -m pytest -ra "$@"
