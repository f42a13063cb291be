#!/usr/bin/env bash
# The main job. Today (foundation in progress) it installs, builds and shows
# the ring record contract; it grows into the full demo (daemon + shimmed
# traffic + per-model table) as the components land.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
echo "tokenring: built. Components present:"
for t in libtokenring.so tokenringd; do
  if f=$(find build/release -name "$t" -type f | head -1) && [ -n "$f" ]; then echo "  $t: $f"; else echo "  $t: not yet implemented"; fi
done
echo "Record contract (shm/record.h): $(grep -m1 '#define REC_SIZE' shm/record.h | awk '{print $3}') bytes per exchange."
