#!/usr/bin/env bash
# Browser tests of the demo: builds web/dist (bash web/build.sh) and runs web/test.mjs in
# headless Debian Chromium on its software WebGPU adapter (SwiftShader). Installs `chromium`
# (apt) when missing. Fails — never skips — when the browser or its WebGPU adapter is missing.
#   bash web/test.sh                               # build + test (~1 minute after the first build)
#   bash web/test.sh --screenshot docs/web-screenshot.png   # also refresh the README's screenshot
#   TESSERA_WEB_SKIP_BUILD=1 bash web/test.sh      # test the existing web/dist
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
  echo "== installing chromium"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
command -v node >/dev/null || { echo "node is required (apt-get install nodejs)"; exit 1; }

[ -n "${TESSERA_WEB_SKIP_BUILD:-}" ] || bash web/build.sh
echo "== browser tests (headless chromium, WebGPU)"
# Node 22+ has a global WebSocket; Node 20 needs the flag.
WS_FLAG=""; node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' || WS_FLAG=--experimental-websocket
exec node $WS_FLAG web/test.mjs "$@"
