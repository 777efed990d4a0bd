#!/usr/bin/env bash
# Runs a command with a display server: as is when DISPLAY (or WAYLAND_DISPLAY) is set, otherwise
# under a private Xvfb started here and stopped afterwards. `make test` runs the tests through it,
# so that the display and vkscope tests open real windows (they fail, saying why, without one).
#   tools/with-display.sh go test ./display
set -euo pipefail
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec "$@"
fi
if ! command -v Xvfb >/dev/null; then
  echo "with-display.sh: DISPLAY is unset and Xvfb is not installed (Debian/Ubuntu: apt-get install xvfb;" \
       "tools/ensure-vulkan.sh --display installs it); the window tests will fail" >&2
  exec "$@"
fi
# -displayfd lets Xvfb pick a free display number and report it once it accepts connections.
fifo=$(mktemp -u)
mkfifo "$fifo"
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$fifo" 2>/tmp/xvfb.$$.log &
xvfb=$!
trap 'kill "$xvfb" 2>/dev/null || true; rm -f "$fifo"' EXIT
read -r -t 30 num <"$fifo" || { echo "with-display.sh: Xvfb did not start (see /tmp/xvfb.$$.log)" >&2; exit 1; }
export DISPLAY=":$num"
"$@"
