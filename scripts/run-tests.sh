#!/usr/bin/env bash
# Install what the tests need (Debian daemons when root, ./.venv) and run the whole suite.
# With CI=true a tool that can't be installed fails the run; arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/common.sh"

# Real daemons for the client tests, and opentracker for their loopback swarm
# (tests/daemons/swarm.py); Chromium for the end-to-end UI tests; Xvfb, Qt WebEngine's
# libraries and ImageMagick (screenshots) for the native window; Node.js runs the browser's
# filter script beside the Python one (tests/test_filter_agreement.py); npm brings axe-core (the
# accessibility checks in Chromium); xdg-utils' xdg-mime takes `torrentdesk install-desktop`;
# opentracker is the tracker of the tests' two-daemon swarm; PostgreSQL: the database tests run
# on it too, in a temporary cluster (tests/daemons/postgres.py).
DEBIAN_TOOLS=(transmission-daemon rtorrent opentracker nginx-light chromium chromium-driver xvfb
  xauth qbittorrent-nox imagemagick nodejs xdg-utils postgresql "${QT_WEBENGINE_LIBS[@]}")
# Debian's npm package only where no npm came with Node.js (NodeSource's nodejs carries its own,
# and Debian's would conflict with it).
command -v npm >/dev/null || DEBIAN_TOOLS+=(npm)
if ! apt_install_missing "${DEBIAN_TOOLS[@]}"; then
  if [ "${CI:-}" = true ]; then
    echo "CI: could not install ${DEBIAN_TOOLS[*]}; the tests cannot run" >&2
    exit 1
  fi
  echo "warning: could not install ${DEBIAN_TOOLS[*]}; tests needing them will be skipped" >&2
fi
ensure_venv test,postgres
cd "$ROOT"
# axe-core, pinned, into a git-ignored folder (tests/e2e/test_accessibility.py injects it).
AXE_DIR="$ROOT/build/test/axe"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  if ! npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$AXE_DIR" \
      axe-core@4.14.1 >/dev/null; then
    [ "${CI:-}" = true ] && { echo "CI: could not install axe-core with npm" >&2; exit 1; }
    echo "warning: could not install axe-core; the accessibility checks will be skipped" >&2
  fi
fi
"$VENV/bin/ruff" check torrentdesk tests
exec "$VENV/bin/python" -m pytest -ra "$@"
