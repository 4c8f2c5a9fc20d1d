#!/usr/bin/env bash
# The browser tests drive the distribution's Chromium: Playwright cannot download its own here.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$browser" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: installing Debian's chromium package"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
    exit 0
fi
echo "ensure-chromium: $browser not found. Install Chromium (Debian: apt-get install chromium)" >&2
echo "ensure-chromium: or point CHROMIUM_PATH at a Chromium or Chrome binary." >&2
exit 1
