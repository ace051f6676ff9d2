#!/usr/bin/env bash
# Runs on the GPU machine (no Node.js there): builds the kernels and their C++ test with CMake,
# checks CUDA == CPU, then benchmarks against PyTorch on the same GPU. Usage: bash bench/gpu/run_on_device.sh OUTDIR
set -uo pipefail
out=${1:-/tmp}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
cmake -S native -B /tmp/qlb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >/tmp/cmake.log 2>&1 || { cat /tmp/cmake.log; exit 1; }
cmake --build /tmp/qlb --target ql_kernel_test 2>&1 | tail -3
/tmp/qlb/ql_kernel_test 2>&1 | tee "$out/kernel_test.txt"
/tmp/qlb/ql_kernel_test --bench 2>&1 | grep -E "BENCH|conv1d|linear|scan|passed" | tee "$out/bench_cuda.txt"
python3 bench/gpu/torch_peer.py 2>&1 | tee "$out/bench_torch.txt"
