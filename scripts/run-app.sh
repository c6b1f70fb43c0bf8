#!/usr/bin/env bash
# Install torrentdesk into ./.venv (once) and run it; arguments go to `torrentdesk`.
# With a display, the native window's extra (and Qt's system libraries, when root or sudo
# can install them) comes too; without one, the app serves to a browser.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/common.sh"
extras=""
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [[ " $* " != *" --browser "* ]]; then
  extras=native
  apt_install_missing "${QT_WEBENGINE_LIBS[@]}" ||
    echo "warning: could not install Qt's libraries; the window may fall back to a browser" >&2
fi
ensure_venv "$extras"
exec "$VENV/bin/torrentdesk" "$@"
