#!/usr/bin/env bash
# Opens a report qforge wrote (report.html of a run folder, a ptq --report page) in a real headless
# browser and saves a screenshot, to look at what users see:
#
#   tools/screenshot_report.sh REPORT.html OUT.png [WIDTH [HEIGHT]]
#
# The screenshot shows the top WIDTH x HEIGHT pixels of the page; by default 900 wide and as tall
# as the page (estimated from its charts' and table rows' heights, at most 16000 pixels). Needs Debian's chromium, which
# tools/install_deps.sh installs (the ctest checks parse the reports instead of drawing them).
# Runs it with a fresh profile and without network features, as root too (--no-sandbox). Exit code
# 2 with one line when chromium is missing or the page is not there; chromium's own errors are
# shown.
set -euo pipefail
html=${1:?usage: tools/screenshot_report.sh REPORT.html OUT.png [WIDTH [HEIGHT]]}
png=${2:?usage: tools/screenshot_report.sh REPORT.html OUT.png [WIDTH [HEIGHT]]}
width=${3:-900}
height=${4:-}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "screenshot_report: chromium is not installed (apt-get install chromium)" >&2; exit 2; }
[ -f "$html" ] || { echo "screenshot_report: no file $html" >&2; exit 2; }
if [ -z "$height" ]; then
  charts=$(grep -o '<svg [^>]*' "$html" | grep -o ' height="[0-9]*"' | grep -o '[0-9]*' |
           awk '{ s += $1 + 50 } END { print s + 0 }')
  rows=$(grep -o '<tr>' "$html" | wc -l)
  height=$(( charts + 30 * rows + 350 ))
  [ "$height" -le 16000 ] || height=16000
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
  --hide-scrollbars --window-size="$width,$height" --screenshot="$(realpath -m "$png")" \
  "file://$(realpath "$html")" 2>"$profile/log" || { cat "$profile/log" >&2; exit 1; }
[ -s "$png" ] || { cat "$profile/log" >&2; echo "screenshot_report: no screenshot written" >&2; exit 1; }
echo "screenshot_report: $png (${width}x${height})"
