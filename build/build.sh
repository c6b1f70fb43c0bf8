#!/usr/bin/env bash
# Build the one-folder executable build/dist/torrentdesk/ from torrentdesk.spec with PyInstaller.
# Installs PyInstaller into ./.venv first when it is missing. Arguments go to pyinstaller.
# The native window (pywebview + Qt, ~+420 MB) is bundled when pywebview is installed in ./.venv;
# TORRENTDESK_NATIVE=0 bash build/build.sh builds a browser-only executable regardless.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/common.sh"

# PyInstaller is in both the `build` and the `test` extras: when the venv already has it and is
# installed for the current pyproject.toml (any extras), leave it alone, so building and running
# the tests one after the other never reinstalls anything.
stamp_hash="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if ! compgen -G "$VENV/.installed-*-$stamp_hash" >/dev/null ||
  ! "$VENV/bin/python" -c 'import PyInstaller, torrentdesk' 2>/dev/null; then
  ensure_venv build
fi

DIST="$ROOT/build/dist"
WORK="$ROOT/build/work"
cd "$ROOT"
started=$SECONDS
"$VENV/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" "$@" torrentdesk.spec
APP="$DIST/torrentdesk"
[ -x "$APP/torrentdesk" ] || { echo "build failed: no $APP/torrentdesk" >&2; exit 1; }

echo
echo "built $APP in $((SECONDS - started)) s ($(du -sh "$APP" | cut -f1))"
echo "run it:  $APP/torrentdesk --browser --no-open --port 8080"
echo "ship it: tar -C '$DIST' -czf torrentdesk-$(uname -s | tr A-Z a-z)-$(uname -m).tar.gz torrentdesk"
