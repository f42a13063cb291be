#!/usr/bin/env bash
# The main job: install, build, then show tokenring working end to end.
#   1. tokenringd starts on a fresh ring (and serves /metrics).
#   2. demo/llm_server.py, an OpenAI-compatible (and Anthropic, Ollama,
#      Gemini, DashScope) server, runs under LD_PRELOAD=libtokenring.so.
#   3. demo/traffic.py and curl, also under the shim, send a mixed load:
#      several models, plain and streaming, a few errors.
#   4. The per-model table read back from the daemon, next to what the
#      client itself saw; then a peek at /metrics and the access log.
# Usage: scripts/demo.sh [--requests N] [--keep]   (--keep: leave it running)
# The run itself is demo/run_demo.sh, which a test also runs on every CI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
echo "== building (build/release)"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
exec demo/run_demo.sh build/release "$@"
