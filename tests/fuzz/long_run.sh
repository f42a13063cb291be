#!/usr/bin/env bash
# A long fuzzing campaign over every libFuzzer target of a build (CI runs
# each for ~10-15 s; this runs each for SECONDS, two at a time) and writes
# the figures (executions, coverage, corpus, crashes) as a markdown table.
# Usage: tests/fuzz/long_run.sh BUILD_DIR SECONDS OUT.md
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$1 secs=$2 out=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A seeds=(
  [fuzz_http]=tests/fuzz/seeds/http [fuzz_llm]=tests/fuzz/seeds/llm [fuzz_conn]=tests/fuzz/seeds/conn
  [fuzz_ring]=tests/shm/fuzz_ring_corpus
  [fuzz_httpd_parse]=tests/reliability/fuzz_httpd_parse_corpus
  [fuzz_config]=tests/reliability/fuzz_config_corpus
  [fuzz_core]=tests/aggregator/test_fuzz_core_corpus)
run_one() { # target binary
  local t=$1 bin=$2
  mkdir -p "$work/$t"
  [ -d "$root/${seeds[$t]}" ] && cp -r "$root/${seeds[$t]}"/. "$work/$t"/ || true
  if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="$work/crash_${t}_" "$work/$t" >"$work/$t.log" 2>&1; then
    echo ok >"$work/$t.status"
  else
    echo CRASH >"$work/$t.status"
  fi
}
targets=()
for t in "${!seeds[@]}"; do
  bin=$(find "$build" -type f -name "$t" -perm -u+x | head -1)
  [ -n "$bin" ] && targets+=("$t:$bin")
done
i=0
for tb in "${targets[@]}"; do
  run_one "${tb%%:*}" "${tb#*:}" &
  i=$((i + 1))
  [ $((i % 2)) -eq 0 ] && wait
done
wait
{
  echo "| target | seconds | executions | coverage (edges) | features | corpus | result |"
  echo "|---|---|---|---|---|---|---|"
  for tb in "${targets[@]}"; do
    t=${tb%%:*}
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
    last=$(grep -E '^#[0-9]+' "$work/$t.log" | tail -1)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$last")
    echo "| $t | $secs | ${execs:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $(cat "$work/$t.status") |"
  done
} >"$out"
cat "$out"
! grep -q CRASH "$out"
