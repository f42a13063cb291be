#!/usr/bin/env bash
# Run the ring benchmark and write bench/results/ring-<date>-<host>.md with
# the machine description. Usage: bench/run_ring.sh [--quick] [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
quick=""
[ "${1:-}" = "--quick" ] && { quick=--quick; shift; }
build=${1:-build/bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target ring_bench >/dev/null
mkdir -p bench/results
out=bench/results/ring-$(date -u +%Y-%m-%d)-$(hostname -s).md
{
  echo "# Ring handoff benchmark"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus; kernel $(uname -r)"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$build/bench/ring_bench" $quick
} | tee "$out"
echo "wrote $out"
