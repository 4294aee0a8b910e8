#!/usr/bin/env bash
# The one install step shared by `make up` and `make test`. Idempotent: a second run on a
# machine that has everything only checks and returns in seconds.
#  1. Debian packages the platform needs (deploy/local/apt-packages.txt), when missing.
#  2. uv, pinned, in its own small venv under .cache/ (never in the system Python).
#  3. The workspace venv .venv/ from uv.lock, exactly (--frozen: the lock is the truth).
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION="0.13.8"
PYTHON="${PYTHON:-python3.11}"
say() { printf '==> %s\n' "$*"; }

mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' deploy/local/apt-packages.txt)
missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: need root (or sudo) to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "Debian packages present (${#wanted[@]} wanted)"
fi

if ! command -v "$PYTHON" >/dev/null; then
  echo "bootstrap: $PYTHON not found; VoiceAssist needs CPython 3.11" >&2
  exit 1
fi

uv=".cache/uv/bin/uv"
if [[ ! -x $uv ]] || [[ $("$uv" --version 2>/dev/null) != "uv $UV_VERSION"* ]]; then
  say "installing uv $UV_VERSION into .cache/uv"
  rm -rf .cache/uv
  "$PYTHON" -m venv .cache/uv
  .cache/uv/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

say "syncing .venv from uv.lock"
export UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=.venv UV_PYTHON="$PYTHON"
"$uv" sync --frozen --all-packages
say "environment ready: $(.venv/bin/python --version)"
