#!/usr/bin/env bash
# Run one of the daemon's fuzz targets with tests/fuzz/run.sh for SECONDS
# and write the run's record (tests/reliability/record.py) to RESULT.
# Usage: run_fuzz.sh BIN_DIR NAME SECONDS RESULT
# Any crash, leak, timeout or failed check fails the test; the reproducer
# is left in BIN_DIR (tests/fuzz/run.sh).
set -euo pipefail
bindir=$1 name=$2 secs=$3 result=$4
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$(dirname "$result")"
rm -f "$result" "$result.stats"
"$root/tests/fuzz/run.sh" -s "$secs" -o "$result.stats" "$bindir" "$name"
read -r _ _ execs _ _ _ <"$result.stats"
python3 - "$result" "$name" "$secs" "$execs" <<'PY'
import json, os, sys
result, name, secs, execs = sys.argv[1:]
what = {"fuzz_httpd_parse": "daemon HTTP request parser: arbitrary bytes (libFuzzer)",
        "fuzz_config": "daemon config parsers: arbitrary JSON and argv (libFuzzer)"}[name]
json.dump({"rows": [{"id": name, "fault": what,
                     "tried": "%s s per CI run over its committed corpus, with its "
                              "dictionary (ASan, UBSan)" % secs,
                     "outcome": "no crash, leak or failed check"}],
           "figures": {name: {"execs": int(execs), "seconds": int(secs)}}},
          open(result + ".tmp", "w"))
os.replace(result + ".tmp", result)  # whole or not at all: record.py may be reading
PY
