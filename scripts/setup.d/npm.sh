#!/usr/bin/env bash
# Node packages for the integration tests (the OpenAI Node SDK), installed
# from package-lock.json into the repository's own node_modules. Idempotent:
# does nothing when the locked versions are already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
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
