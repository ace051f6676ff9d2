#!/usr/bin/env bash
# Builds the Node addon with AddressSanitizer + UndefinedBehaviorSanitizer and runs the tests that
# reach it (unit tests of verify, layers and sessions, and the hostile corpus through the CLI) on
# that build. Node itself is not instrumented, so the ASan runtime is preloaded; leak checking is
# off because Node keeps allocations alive until exit by design. Needs `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
build=native/build-asan-addon
npx cmake-js compile -d native --out "$build" --CDQL_SANITIZE=ON --CDQL_CUDA=OFF -D >/dev/null
addon="$PWD/$build/Debug/quant_lens_native.node"
[ -f "$addon" ] || addon="$PWD/$build/Release/quant_lens_native.node"
asan=$(gcc -print-file-name=libasan.so)
export QUANT_LENS_ADDON="$addon" LD_PRELOAD="$asan" QUANT_LENS_TIME_FACTOR=4
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
node -e "const a=require(process.env.QUANT_LENS_ADDON); if (typeof a.Verifier !== 'function') process.exit(1); console.log('sanitized addon loaded:', process.env.QUANT_LENS_ADDON)"
node --test --test-concurrency=1 out/test/native/entryPoints.test.js out/test/native/gridFit.test.js out/test/analysis/verify.test.js out/test/analysis/conv1d.test.js out/test/analysis/attribution.test.js out/test/analysis/ssmLayers.test.js out/test/view/session.test.js out/test/view/overview.test.js out/test/analysis/stats.test.js out/test/cli/hostile.test.js
