#!/usr/bin/env bash
# `npm test`: every test of the repository, in two phases so the suite stays near 12 minutes on
# two cores without running timing-sensitive tests side by side.
#   1. Side by side, each lane on its own core: the type checks (tsc is single-threaded), and the
#      in-process tests (contracts on Hardhat's in-process chain, the engine, api/src's unit and
#      property suites). Neither lane depends on wall-clock timing against the other. Each lane's
#      output is kept and printed whole when it ends, so the two never interleave.
#   2. Alone, one file at a time: the process-level tests (api/test, issuer): real gateways,
#      kill -9, Redis stalls, lease takeovers, Chromium; these measure time and stay serial.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

hardhat build --quiet || exit 1

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

(
  tsc --noEmit && tsc --noEmit -p api/console && tsc --noEmit -p api/trader && tsc --noEmit -p issuer/pages
) >"$logs/types" 2>&1 &
types=$!
(
  hardhat test && node --test "matching-engine/**/*.test.ts" "api/src/**/*.test.ts"
) >"$logs/unit" 2>&1 &
unit=$!

wait "$types"; types_rc=$?
echo "── types (tsc): exit $types_rc"; cat "$logs/types"
wait "$unit"; unit_rc=$?
echo "── contracts, engine, api/src: exit $unit_rc"; cat "$logs/unit"
if [ "$types_rc" -ne 0 ] || [ "$unit_rc" -ne 0 ]; then exit 1; fi

echo "── process tests (api/test, issuer), one file at a time"
node --test --test-concurrency=1 "api/test/**/*.test.ts" "issuer/**/*.test.ts"
