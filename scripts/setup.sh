#!/usr/bin/env bash
# One-time set-up on a fresh machine: Node 22 (from the npm registry if the machine has
# an older Node), the locked npm dependencies installed *by* Node 22 (Hardhat's EDR
# native package is skipped by an npm running under Node 20), and the contracts built.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

NODE22=node
if [ "$(node_major node)" -lt 22 ]; then
  BOOT="${SEN_NODE_BOOTSTRAP:-$HOME/.cache/sen/node22}"
  if [ "$(node_major "$BOOT/node_modules/.bin/node")" -lt 22 ]; then
    echo "setup: installing Node 22 into $BOOT (from the npm registry)"
    npm install --silent --no-save --prefix "$BOOT" node@22 >/dev/null
  fi
  export PATH="$BOOT/node_modules/.bin:$PATH"
fi
echo "setup: node $(node --version), npm $(npm --version)"

npm ci --no-audit --no-fund
export PATH="$PWD/node_modules/.bin:$PATH"
hardhat build --quiet
echo "setup: done. Start the exchange with 'npm start'; run the tests with 'npm test'."
