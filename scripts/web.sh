#!/usr/bin/env bash
# Install and build the web client (web/), for `make up` and `make test`. Idempotent and quick
# when nothing changed: `npm ci` runs only when package-lock.json is newer than the installed
# tree, the Vite build only when a source is newer than web/dist/index.html.
#   scripts/web.sh          install + build
#   scripts/web.sh install  install only
set -euo pipefail
cd "$(dirname "$0")/../web"
say() { printf '==> %s\n' "$*"; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "web: Node.js 20.19+ and npm are needed to build the web client" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 20)); then
  echo "web: Node.js $(node --version) is too old; Vite needs 20.19 or newer" >&2
  exit 1
fi

marker=node_modules/.package-lock.json
if [[ ! -f $marker || package-lock.json -nt $marker ]]; then
  say "installing the web client's npm packages (package-lock.json)"
  # Never let a package download a browser: the tests use Debian's /usr/bin/chromium.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 \
    npm ci --no-audit --no-fund --loglevel=error
  touch "$marker"
fi
[[ ${1:-build} == install ]] && exit 0

stale=0
if [[ ! -f dist/index.html ]]; then
  stale=1
elif [[ -n $(find src public index.html package-lock.json vite.config.ts tsconfig.json \
  -newer dist/index.html -print -quit) ]]; then
  stale=1
fi
if ((stale)); then
  say "building the web client (web/dist)"
  npx --no-install vite build --logLevel warn
else
  say "web client up to date (web/dist)"
fi
