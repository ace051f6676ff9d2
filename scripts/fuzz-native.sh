#!/usr/bin/env bash
# libFuzzer over the native entry points that take sizes, strides and offsets (native/fuzz):
# builds with clang + ASan/UBSan, replays every saved regression input, then fuzzes for
# QL_FUZZ_SECONDS (default 30; `npm run fuzz` runs longer). A crash is written to
# native/fuzz/regressions/ (commit it with the fix) and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang++ >/dev/null || { echo "fuzz-native: clang++ is needed (Debian: apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
build=native/build-fuzz
cmake -S native -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DQL_CUDA=OFF -DQL_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target ql_entry_fuzzer -j2 >/dev/null
fuzzer="$build/ql_entry_fuzzer"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
regressions=(native/fuzz/regressions/*)
"$fuzzer" "${regressions[@]}" >/dev/null 2>&1 || { "$fuzzer" "${regressions[@]}"; exit 1; }
echo "fuzz-native: ${#regressions[@]} regression inputs pass"
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp native/fuzz/regressions/* "$corpus"/
"$fuzzer" -max_total_time="${QL_FUZZ_SECONDS:-30}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix=native/fuzz/regressions/ "$corpus" 2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+ +DONE|ERROR|SUMMARY|runtime error"
