#!/usr/bin/env bash
# Development loop on the GPU machine: build with ptxas's register report, check CUDA == CPU,
# time the device-resident verify benchmark. Usage: bash bench/gpu/quick_verify.sh
set -uo pipefail
cmake -S native -B /tmp/qlq -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_FLAGS="-Xptxas -v" >/tmp/cmake.log 2>&1 || { cat /tmp/cmake.log; exit 1; }
cmake --build /tmp/qlq --target ql_kernel_test 2>&1 | grep -B1 -A3 "Compiling entry function '.*verifyOnGrid" | grep -E "registers|spill"
/tmp/qlq/ql_kernel_test 2>&1 | grep -E "FAIL|passed"
/tmp/qlq/ql_kernel_test --bench-verify 2>&1 | grep BENCH
