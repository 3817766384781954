#!/usr/bin/env bash
# Install what is missing, build, and run the whole default test suite (unit,
# integration, rtl) twice: in the release build, and in an ASan+UBSan build;
# the release build adds one run under valgrind's memcheck (tier valgrind).
# Ends with one line summed over both: N passed, N failed.
# Extra arguments go to `meson test` (e.g. --setup=all to add the slow tier).
set -uo pipefail
cd "$(dirname "$0")"
scripts/setup.sh build || exit 1
scripts/setup.sh build-asan -Db_sanitize=address,undefined -Dbuildtype=debugoptimized || exit 1
status=0
meson test -C build --print-errorlogs "$@" || status=1
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$PWD/scripts/lsan.supp":print_suppressions=0 \
  meson test -C build-asan --print-errorlogs "$@" || status=1
/usr/bin/python3 scripts/test_summary.py build/meson-logs/testlog.json \
  build-asan/meson-logs/testlog.json || status=1
exit $status
