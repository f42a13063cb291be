#!/usr/bin/env bash
# The demo run over an existing build: tokenringd, the demo LLM server and
# shimmed clients, then the per-model table next to what the client saw.
# Exits non-zero if any model's requests or tokens differ.
# Usage: demo/run_demo.sh BUILD_DIR [--requests N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "$1" && pwd); shift
requests=120
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: demo/run_demo.sh BUILD_DIR [--requests N] [--keep]" >&2; exit 2 ;;
  esac
done
shim=$build/producer/libtokenring.so
daemon=$build/aggregator/tokenringd
py=/usr/bin/python3
for f in "$shim" "$daemon"; do [ -e "$f" ] || { echo "run_demo: $f is missing: build first" >&2; exit 1; }; done
work=$(mktemp -d /tmp/tokenring-demo.XXXXXX)
ring=/dev/shm/tokenring-demo-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$ring"
}
[ $keep -eq 1 ] || trap cleanup EXIT
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.05; done; echo "no answer from $1" >&2; return 1; }

mport=$(free_port)
echo "== tokenringd on 127.0.0.1:$mport, ring $ring"
"$daemon" --ring "$ring" --listen "127.0.0.1:$mport" --access-log "$work/access.log" \
  --summary-log off 2>"$work/tokenringd.err" &
pids+=($!)
wait_http "http://127.0.0.1:$mport/healthz"

echo "== demo LLM server under the shim (workload llm-server)"
LD_PRELOAD=$shim TOKENRING_RING=$ring TOKENRING_WORKLOAD=llm-server TOKENRING_NAMESPACE=demo \
  $py demo/llm_server.py --port 0 >"$work/server.out" 2>"$work/server.err" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.05; done
sport=$(awk '/listening/ {print $3}' "$work/server.out")

echo "== $requests requests from traffic.py and curl under the shim (workload demo-client)"
LD_PRELOAD=$shim TOKENRING_RING=$ring TOKENRING_WORKLOAD=demo-client TOKENRING_NAMESPACE=demo \
  $py demo/traffic.py --port "$sport" --requests "$requests" --curl 0.3 >"$work/traffic.json"
# The last records reach tokenringd after the client has its answers (each
# side publishes an exchange once it has seen it end): wait until both
# reporters' counts equal what the client saw, up to 60 s, instead of
# guessing a time; the tables below then show the match or the difference.
summary=http://127.0.0.1:$mport/api/v1/summary
for _ in $(seq 600); do
  $py demo/show.py "$summary" "$work/traffic.json" source >/dev/null 2>&1 &&
    $py demo/show.py "$summary" "$work/traffic.json" destination >/dev/null 2>&1 && break
  sleep 0.1
done

echo
echo "== per model, as measured by tokenringd (reporter source: the client's view)"
status=0
$py demo/show.py "http://127.0.0.1:$mport/api/v1/summary" "$work/traffic.json" source || status=1
echo
echo "== the same traffic seen from the server side (reporter destination)"
$py demo/show.py "http://127.0.0.1:$mport/api/v1/summary" "$work/traffic.json" destination || status=1
echo
echo "== a few lines of http://127.0.0.1:$mport/metrics"
curl -sf "http://127.0.0.1:$mport/metrics" >"$work/metrics.txt"
grep -E '^tokenring_requests_total\{reporter="source"' "$work/metrics.txt" | sed -n 1,4p
grep -E '^tokenring_ring_(records_total|dropped_total)' "$work/metrics.txt"
echo
echo "== one access log line ($work/access.log)"
head -1 "$work/access.log"
if [ $keep -eq 1 ]; then
  echo
  echo "Left running: metrics http://127.0.0.1:$mport/metrics, LLM server http://127.0.0.1:$sport"
  echo "Stop with: kill ${pids[*]}"
fi
exit $status
