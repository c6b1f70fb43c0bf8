# Shared by run-app.sh and run-tests.sh: a project venv with torrentdesk installed.
# Sourced, not run. Expects ROOT to be the repository root.

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"

# What Qt WebEngine (pywebview's native window) loads from the system, beyond Python wheels.
QT_WEBENGINE_LIBS=(libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libnss3 libegl1
  libgl1 libfontconfig1 libdbus-1-3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libasound2
  libxkbfile1)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

# Install Debian packages that are missing; apt-get update once, only when needed.
apt_install_missing() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || { echo "cannot install ${missing[*]}: no apt-get" >&2; return 1; }
  echo "installing Debian packages: ${missing[*]}"
  as_root apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >/dev/null
}

ensure_venv() {  # ensure_venv [EXTRAS]  e.g. "test"
  if ! "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "torrentdesk needs Python 3.11 or newer as '$PYTHON' (set PYTHON=...)" >&2
    return 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV" 2>/dev/null || {
      apt_install_missing python3-venv && rm -rf "$VENV" && "$PYTHON" -m venv "$VENV"
    } || { echo "could not create $VENV (install python3-venv)" >&2; return 1; }
  fi
  # Reinstall only when the dependencies changed.
  local extras="${1:-}" target="$ROOT"
  [ -n "$extras" ] && target="$ROOT[$extras]"
  local stamp="$VENV/.installed-${extras:-app}-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$target" &&
      rm -f "$VENV"/.installed-* && touch "$stamp"
  fi
}
