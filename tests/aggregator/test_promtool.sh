#!/usr/bin/env bash
# Lint the exposition with promtool (Debian package prometheus). Every
# family must be clean, except the names the seeds impose: ASM's counters
# lack _total and Istio's histogram is in milliseconds; promtool reports
# exactly those three lint lines and nothing else.
set -euo pipefail
render=$1
command -v promtool >/dev/null || { echo "promtool missing (apt install prometheus)"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for fams in tokenring gen_ai kgateway tokenring,gen_ai,kgateway; do
  "$render" "$fams" > "$out/m.txt"
  test -s "$out/m.txt"
  if ! promtool check metrics < "$out/m.txt" > "$out/lint.txt" 2>&1; then
    echo "promtool failed for $fams:"; cat "$out/lint.txt"; exit 1
  fi
done
"$render" tokenring,gen_ai,asm,istio,kgateway empty > "$out/m.txt"
grep -q '^# TYPE tokenring_requests_total counter$' "$out/m.txt"
promtool check metrics < "$out/m.txt" || { echo "promtool failed without records"; exit 1; }
"$render" tokenring,gen_ai,asm,istio,kgateway > "$out/m.txt"
set +e
promtool check metrics < "$out/m.txt" > "$out/lint.txt" 2>&1
rc=$?
set -e
sort "$out/lint.txt" > "$out/got.txt"
cat > "$out/want.txt" <<'WANT'
asm_llm_proxy_completion_tokens counter metrics should have "_total" suffix
asm_llm_proxy_prompt_tokens counter metrics should have "_total" suffix
istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"
WANT
if [ "$rc" -ne 3 ] || ! diff -u "$out/want.txt" "$out/got.txt"; then
  echo "unexpected promtool result (rc=$rc)"; cat "$out/lint.txt"; exit 1
fi
# Every family name the design lists is present.
for name in tokenring_requests_total tokenring_usage_total tokenring_cost_usd_total \
    gen_ai_client_token_usage_bucket gen_ai_server_request_duration_seconds_bucket \
    gen_ai_client_operation_time_to_first_chunk_seconds_bucket \
    asm_llm_proxy_prompt_tokens istio_requests_total \
    istio_request_duration_milliseconds_bucket ai_prompt_tokens_total \
    tokenring_series_overflow_total tokenring_build_info tokenring_mcp_requests_total \
    tokenring_mcp_tool_calls_total tokenring_mcp_tool_call_duration_seconds_bucket; do
  grep -q "^$name{" "$out/m.txt" || grep -q "^$name " "$out/m.txt" || { echo "missing $name"; exit 1; }
done
echo "promtool: clean apart from the seed-imposed names"
