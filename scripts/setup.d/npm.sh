#!/usr/bin/env bash
# Node packages for the integration tests (the OpenAI Node SDK; the MCP SDK,
# client and server of tests/providers; the OTLP
# types of @opentelemetry/otlp-transformer for tests/export's receiver),
# installed from package-lock.json into the repository's own node_modules.
# Idempotent: does nothing when the locked versions are already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# every dependency at its pinned version, or install
missing=$(node -e '
const deps = require("./package.json").dependencies;
for (const [name, want] of Object.entries(deps)) {
  let have = "";
  try { have = require("./node_modules/" + name + "/package.json").version; } catch (e) {}
  if (have !== want) console.log(name + "@" + want);
}')
if [ -z "$missing" ]; then
  exit 0
fi
echo "npm.sh: installing" $missing "into ./node_modules"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
