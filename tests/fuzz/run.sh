#!/usr/bin/env bash
# Build each parser's libFuzzer target with clang (ASan + UBSan) and run it
# for a bounded time over the committed seeds and dictionary.
# Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET=10] [WORK_DIR=build/fuzz]
# New inputs go to WORK_DIR, never into the committed seeds; a crash leaves
# its reproducer in WORK_DIR and fails the script.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-10}
work=${2:-$root/build/fuzz}
cc=${CLANG:-clang}
command -v "$cc" >/dev/null || { echo "run.sh: $cc not found" >&2; exit 77; }
mkdir -p "$work"
srcs=(proto/http.c proto/http_coding.c proto/llm_settle.c proto/llm_json.c proto/llm_json_str.c proto/llm_keys.c proto/llm_req.c
      proto/llm_resp.c proto/llm_sse.c proto/llm_route.c producer/conn.c
      producer/conn_hdr.c producer/conn_id.c producer/conn_body.c producer/conn_emit.c shm/record.c)
flags=(-std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -I"$root/proto" -I"$root/producer" -I"$root/shm")
declare -A dict=([http]=http.dict [llm]=json.dict [conn]=http.dict)
for t in http llm conn; do
  (cd "$root" && "$cc" "${flags[@]}" "tests/fuzz/fuzz_$t.c" "${srcs[@]}" -o "$work/fuzz_$t")
  mkdir -p "$work/corpus_$t"
  "$work/fuzz_$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=512 \
    -dict="$root/tests/fuzz/${dict[$t]}" -artifact_prefix="$work/crash_${t}_" \
    -print_final_stats=1 "$work/corpus_$t" "$root/tests/fuzz/seeds/$t" 2>"$work/fuzz_$t.log" || {
      tail -40 "$work/fuzz_$t.log" >&2; exit 1; }
  grep -E 'stat::number_of_executed_units|Done' "$work/fuzz_$t.log" | sed "s/^/$t: /"
done
