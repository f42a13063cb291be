#!/usr/bin/env bash
# Install, build and run every test: a release build (all tests), an
# ASan+UBSan build (unit tests), a ThreadSanitizer build (concurrency tests).
# Usage: scripts/test.sh [--fast]   (--fast: release build only)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
build() { # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
}
status=0
build build/release
(cd build/release && ctest --output-on-failure -j"$jobs" --timeout 300) || status=1
if [ "${1:-}" != "--fast" ]; then
  build build/asan -DTOKENRING_SANITIZE="address;undefined"
  (cd build/asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs" -L unit --timeout 300) || status=1
  build build/tsan -DTOKENRING_SANITIZE=thread
  (cd build/tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j"$jobs" -L tsan --timeout 300) || status=1
fi
exit $status
