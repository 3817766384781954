#!/usr/bin/env bash
# Fuzz every target (or those named) for SECONDS each. The working corpus of a
# target lives in BUILD/corpus-TARGET and grows from run to run (so runs add up);
# it starts as a copy of the seeds in tests/fuzz/corpus, which stay as they are.
# Builds build-fuzz (clang, ASan + UBSan, libFuzzer) on first use. A crash, a
# leak or a sanitizer report stops with the reproducer in build-fuzz/.
# Usage: tests/fuzz/run.sh [SECONDS [TARGET...]]   (targets: idx model opts config)
# Long runs: tests/fuzz/run.sh 3600 model
# CIM_FUZZ_KEEP_GOING=1 goes on past crashes (libFuzzer's fork mode; each one is
# saved as build-fuzz/fuzz-T-crash-*, listed at the end, and fails the run):
# for fuzz-model, which faults inside libhdf5 (tests/fuzz/hdf5-faults) would
# otherwise stop after minutes.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx model opts config)
build=${CIM_FUZZ_BUILD:-$src/build-fuzz}
if ! command -v clang >/dev/null; then
  echo "fuzz: clang is needed (Debian package clang; scripts/setup.sh installs it)" >&2
  exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$src" -Dfuzz=true -Dtests=false \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized >&2
fi
ninja -C "$build" $(printf 'tests/fuzz/fuzz-%s ' "${targets[@]}") >&2
keep=()
[ "${CIM_FUZZ_KEEP_GOING:-0}" = 1 ] && keep=(-fork=1 -ignore_crashes=1)
status=0
for t in "${targets[@]}"; do
  work=$build/corpus-$t
  if [ ! -d "$work" ]; then
    mkdir -p "$work"
    cp -r "$src/tests/fuzz/corpus/$t/." "$work/"
  fi
  echo "fuzz-$t: ${secs}s from $(ls "$work" | wc -l) inputs in $work" >&2
  touch "$build/fuzz-$t.log.start"
  # -close_fd_mask=3: the targets' own refusals and --help would flood the output;
  # libFuzzer's reports still appear.
  # allocator_may_return_null: libhdf5 asks malloc for terabytes when a
  # damaged file says so; glibc then returns NULL and HDF5 reports an error,
  # which is what cim must handle (ASan would stop at the request itself).
  # asan.supp and lsan.supp: faults inside libhdf5's own decoding (see them).
  # -malloc_limit_mb: libhdf5 mallocs up to 4 GB it never touches for some
  # damaged object headers (tests/fuzz/hdf5-faults), which libFuzzer would
  # report at its default limit (2 GB); memory really used stays bounded by
  # -rss_limit_mb (2 GB by default), and cim's own largest request is 1 GiB.
  if ! ASAN_OPTIONS=allocator_may_return_null=1:suppressions="$src/tests/fuzz/asan.supp" LSAN_OPTIONS=suppressions="$src/tests/fuzz/lsan.supp" \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "$build/tests/fuzz/fuzz-$t" "${keep[@]}" -max_total_time="$secs" -max_len=65536 -close_fd_mask=3 \
      -malloc_limit_mb=65536 \
      -print_final_stats=1 -artifact_prefix="$build/fuzz-$t-" "$work" 2>"$build/fuzz-$t.log"; then
    status=1
    tail -40 "$build/fuzz-$t.log" >&2
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added)|Done " "$build/fuzz-$t.log" >&2 || true
  found=$(find "$build" -maxdepth 1 \( -name "fuzz-$t-crash-*" -o -name "fuzz-$t-leak-*" \) -newer "$build/fuzz-$t.log.start" | sort)
  if [ -n "$found" ]; then
    status=1
    echo "fuzz-$t: crashes saved:" $found >&2
  fi
done
exit $status
