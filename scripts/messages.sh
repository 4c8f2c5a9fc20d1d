#!/usr/bin/env bash
# Refresh locale/en from the source (Portuguese msgids) and compile it. Needs GNU gettext.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python manage.py makemessages -l en --no-obsolete --no-location \
    --ignore ".venv/*" --ignore "tests/*" --ignore "bench/*" --ignore "vonosim/*" \
    --ignore "staticfiles/*" --ignore "static/vendor/*"
.venv/bin/python manage.py compilemessages -l en --ignore ".venv/*"
