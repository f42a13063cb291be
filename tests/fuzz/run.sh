#!/usr/bin/env bash
# The one runner for every libFuzzer target (built by -DTOKENRING_FUZZ=ON,
# tests/fuzz/CMakeLists.txt). Each target NAME has its source
# tests/fuzz/NAME.c, its dictionary tests/fuzz/NAME.dict and its minimized
# corpus tests/fuzz/corpus/NAME/ (committed, so campaigns add up).
#
#   tests/fuzz/run.sh [-s SECONDS] [-c] [-o STATS] BIN_DIR NAME...
#
# -s SECONDS  time per target (default 10: what CI runs, label fuzz)
# -c          campaign: afterwards merge (libFuzzer -merge=1) what the run
#             found into tests/fuzz/corpus/NAME, minimized; commit it
# -o STATS    append one line per target: NAME SECONDS EXECUTIONS EDGES
#             CORPUS_FILES RESULT
# Without -c the committed corpus is only read (the run works on a copy).
# A crash, leak, timeout or failed oracle fails the run and leaves its
# reproducer in BIN_DIR/crash-NAME-*; replay it with BIN_DIR/NAME FILE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=10 campaign=0 stats=/dev/null
while getopts "s:co:" o; do
  case $o in
    s) secs=$OPTARG ;;
    c) campaign=1 ;;
    o) stats=$OPTARG ;;
    *) sed -n 2,17p "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { sed -n 2,17p "$0"; exit 2; }
bindir=$1; shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for name in "$@"; do
  bin=$bindir/$name dict=$here/$name.dict corpus=$here/corpus/$name
  for f in "$bin" "$dict" "$corpus"; do
    [ -e "$f" ] || { echo "run.sh: $name: $f does not exist" >&2; exit 2; }
  done
  mkdir -p "$work/$name"
  cp -r "$corpus"/. "$work/$name"/
  if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
      -dict="$dict" -artifact_prefix="$bindir/crash-$name-" "$work/$name" \
      >"$work/$name.log" 2>&1; then
    result=ok
  else
    result=FAILED status=1
    tail -40 "$work/$name.log" >&2
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
  edges=$(grep -E '^#[0-9]+' "$work/$name.log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  if [ $campaign = 1 ] && [ $result = ok ]; then
    # Minimize the old corpus plus the new finds into a fresh directory.
    mkdir -p "$work/$name.min"
    "$bin" -merge=1 -timeout=10 -rss_limit_mb=1024 "$work/$name.min" "$corpus" "$work/$name" \
      >"$work/$name.merge.log" 2>&1 || { tail -20 "$work/$name.merge.log" >&2; exit 1; }
    rm -rf "$corpus"
    mv "$work/$name.min" "$corpus"
  fi
  files=$(find "$corpus" -type f | wc -l)
  echo "$name $secs ${execs:-?} ${edges:-?} $files $result" | tee -a "$stats"
done
exit $status
