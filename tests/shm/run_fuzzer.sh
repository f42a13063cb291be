#!/usr/bin/env bash
# Run a libFuzzer binary for SECONDS over a copy of its seed corpus; any
# crash, leak or abort fails the test (libFuzzer exits non-zero).
# Usage: run_fuzzer.sh BINARY CORPUS_DIR SECONDS
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$2"/. "$work"/
exec "$1" -max_total_time="$3" -timeout=10 -print_final_stats=1 "$work"
