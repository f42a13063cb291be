#!/usr/bin/env bash
# Run a libFuzzer binary for SECONDS over a copy of its committed seeds and
# write the run's record (tests/reliability/record.py) to RESULT.
# Usage: run_fuzz.sh BINARY CORPUS_DIR SECONDS RESULT
# Any crash, leak, timeout or failed check fails the test (libFuzzer exits
# non-zero); the reproducer is kept next to RESULT.
set -euo pipefail
bin=$1 corpus=$2 secs=$3 result=$4
name=$(basename "$bin")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$result")" "$work/corpus"
rm -f "$result"
cp -r "$corpus"/. "$work/corpus"/
seeds=$(find "$corpus" -type f | wc -l)
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
  -artifact_prefix="$(dirname "$result")/crash_${name}_" "$work/corpus" 2>"$work/log" || {
  tail -40 "$work/log" >&2
  exit 1
}
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
grep -E '^stat::' "$work/log"
python3 - "$result" "$name" "$secs" "$seeds" "$execs" <<'PY'
import json, sys
result, name, secs, seeds, execs = sys.argv[1:]
what = {"fuzz_httpd_parse": "daemon HTTP request parser: arbitrary bytes (libFuzzer)",
        "fuzz_config": "daemon config parsers: arbitrary JSON and argv (libFuzzer)"}[name]
json.dump({"rows": [{"id": name, "fault": what,
                     "tried": "%s s per CI run from %s seeds (ASan, UBSan)" % (secs, seeds),
                     "outcome": "no crash, leak or failed check"}],
           "figures": {name: {"execs": int(execs), "seconds": int(secs)}}},
          open(result, "w"))
PY
