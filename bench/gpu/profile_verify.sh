#!/usr/bin/env bash
# Profiles verifyOnGridKernel under Nsight Compute on one of the benchmark's data sets.
# Usage: bash bench/gpu/profile_verify.sh OUTDIR [SET]  (SET: 0 on-grid dump, 1 stress mix, 2 unquantized)
set -uo pipefail
out=$1; set=${2:-0}
cmake -S native -B /tmp/qlp -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_FLAGS="-lineinfo" >/tmp/cmake.log 2>&1 || { cat /tmp/cmake.log; exit 1; }
cmake --build /tmp/qlp --target ql_kernel_test >/dev/null 2>&1
# Each data set launches the kernel three times (a warm-up and two timed passes).
ncu -k regex:verifyOnGridKernel --launch-skip $((set * 3)) -c 1 --section SpeedOfLight --section WarpStateStats --section SourceCounters \
  --import-source yes -o "$out/prof$set" /tmp/qlp/ql_kernel_test --bench-verify > "$out/ncu$set.log" 2>&1
ncu -i "$out/prof$set.ncu-rep" --page source --csv --print-source sass > "$out/sass$set.csv" 2>&1
ncu -i "$out/prof$set.ncu-rep" --page details --csv > "$out/details$set.csv" 2>&1
