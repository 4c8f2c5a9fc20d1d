#!/usr/bin/env bash
# System tools the test suite drives: Debian's Chromium (Playwright cannot download its own
# browser here) and GNU gettext (the translation-completeness test runs makemessages).
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
missing=()
[ -x "$browser" ] || missing+=(chromium fonts-dejavu-core)
command -v xgettext >/dev/null 2>&1 && command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-test-tools: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    exit 0
fi
echo "ensure-test-tools: missing ${missing[*]}. On Debian: apt-get install ${missing[*]}" >&2
echo "ensure-test-tools: (or point CHROMIUM_PATH at a Chromium or Chrome binary)" >&2
exit 1
