#!/usr/bin/env bash
# Node packages for the integration tests (the OpenAI Node SDK), installed
# from package-lock.json into the repository's own node_modules. Idempotent:
# does nothing when the locked versions are already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v npm >/dev/null || { echo "npm.sh: npm not installed (scripts/apt/shim.txt)" >&2; exit 1; }
want=$(node -e 'console.log(require("./package.json").dependencies.openai)')
have=$(node -e 'try{console.log(require("./node_modules/openai/package.json").version)}catch(e){console.log("")}')
if [ "$have" = "$want" ]; then
  exit 0
fi
echo "npm.sh: installing openai@$want into ./node_modules"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
