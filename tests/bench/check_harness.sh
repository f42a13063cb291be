#!/usr/bin/env bash
# Run bench/run.py --quick against an existing build and check the report
# has every section and a budgets row per measured budget. Usage: BUILD_DIR
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
/usr/bin/python3 "$root/bench/run.py" --quick --no-build --build "$build" --out "$out" >/dev/null
report=$(ls "$out"/*.md)
fail=0
for section in "## Limits and passthrough" "## Ring handoff" "## Daemon ingest and render" \
  "## Per-request cost on real HTTP" "## Curve: ring throughput vs producer processes" \
  "## Curve: loss vs burst length" "## Instructions per unit" "## Budgets (DESIGN.md)"; do
  grep -qF "$section" "$report" || { echo "missing section: $section"; fail=1; }
done
for row in "ring handoff, 1 producer" "ring handoff, 4 producer threads" \
  "instructions per record in tokenringd, access log on" \
  "instructions per record in tokenringd, access log off"; do
  grep -q "^| $row" "$report" || { echo "missing budget row: $row"; fail=1; }
done
if [ -e "$build/producer/libtokenring.so" ] && [ -e "$build/aggregator/tokenringd" ]; then
  for row in "passthrough call on a non-socket fd" "added latency per LLM request (shim in client)"; do
    grep -q "^| $row" "$report" || { echo "missing budget row: $row"; fail=1; }
  done
  grep -qF "## Curve: added cost vs response size" "$report" || { echo "missing size curve"; fail=1; }
fi
ls "$out"/*.png >/dev/null 2>&1 || { echo "no plots written"; fail=1; }
[ $fail -eq 0 ] || { cat "$report"; exit 1; }
echo "bench harness report complete: $(wc -l <"$report") lines"
