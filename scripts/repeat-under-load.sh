#!/usr/bin/env bash
# Run one CTest test (or several, by regex) N times in a row while every
# core is kept busy, stopping at the first failure. A test that passes here
# 20 times in a row does not depend on being scheduled promptly.
#
#   scripts/repeat-under-load.sh [-n N] [-l LOADERS] [-b BUILD_DIR] [-x EXCLUDE] REGEX
#
# -n N        runs (default 20)
# -l LOADERS  busy processes beside the test (default: 2 x cores). Each
#             alternates pure CPU spinning with bursts of fork/exec and file
#             writes, so the test competes for the CPU and the scheduler.
# -b DIR      a configured and built CMake build (default build/release)
# -x EXCLUDE  leave out the tests matching this regex (CTest -E)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=20 loaders=$(( $(nproc) * 2 )) build=build/release exclude='^$'
while getopts "n:l:b:x:" o; do
  case $o in
    n) runs=$OPTARG ;;
    l) loaders=$OPTARG ;;
    b) build=$OPTARG ;;
    x) exclude=$OPTARG ;;
    *) sed -n 2,15p "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { sed -n 2,15p "$0"; exit 2; }
regex=$1
[ -f "$build/CTestTestfile.cmake" ] || { echo "no CMake build in $build" >&2; exit 2; }
count=$(cd "$build" && ctest -N -R "$regex" -E "$exclude" | sed -n 's/^Total Tests: //p')
[ "${count:-0}" -gt 0 ] || { echo "no test matches '$regex' in $build" >&2; exit 2; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
scratch=$(mktemp -d); trap 'cleanup; rm -rf "$scratch"' EXIT
for i in $(seq "$loaders"); do
  ( while :; do
      timeout 0.5 sh -c 'while :; do :; done' || true       # spin
      for _ in 1 2 3 4 5 6 7 8; do /bin/true; done          # fork/exec
      dd if=/dev/zero of="$scratch/$i" bs=64k count=16 status=none
    done ) &
  pids+=($!)
done
for n in $(seq "$runs"); do
  if ! out=$(cd "$build" && ctest -R "$regex" -E "$exclude" --output-on-failure --timeout 600 2>&1); then
    printf '%s\n' "$out"
    echo "repeat-under-load: '$regex' FAILED on run $n of $runs (load: $loaders processes)" >&2
    exit 1
  fi
  echo "run $n/$runs: passed ($count tests)"
done
echo "repeat-under-load: '$regex' passed $runs runs in a row under $loaders busy processes"
