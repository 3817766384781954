#!/usr/bin/env bash
# Install what is missing, build, and run the whole default test suite (unit,
# integration; `slow` with --setup=all), then print one line: N passed, N failed.
set -uo pipefail
cd "$(dirname "$0")"
scripts/setup.sh build || exit 1
meson test -C build --print-errorlogs "$@"
status=$?
/usr/bin/python3 scripts/test_summary.py build/meson-logs/testlog.json || status=1
exit $status
