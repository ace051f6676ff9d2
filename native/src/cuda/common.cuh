// What every CUDA translation unit of Quant Lens shares: error checks, warp reductions, launch
// sizes and the one lock that serializes use of the device. Results must equal the CPU's bit for
// bit, so the kernels are built with --fmad=false (no FMA contraction) and use the IEEE intrinsics.
#pragma once
#include <cuda_runtime.h>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>
#include "../cuda_api.hpp"
#include "../detmath.hpp"

namespace ql {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

constexpr unsigned kFull = 0xffffffffu;

// min, max or | over the warp: one instruction from sm_80 on, shuffles before.
enum class WarpOp { kMin, kMax, kOr };
template <WarpOp op, typename T> __device__ __forceinline__ T warpReduce(T v) {
#if __CUDA_ARCH__ >= 800
  if constexpr (op == WarpOp::kMin) return __reduce_min_sync(kFull, v);
  else if constexpr (op == WarpOp::kMax) return __reduce_max_sync(kFull, v);
  else return __reduce_or_sync(kFull, v);
#else
  for (int off = 16; off > 0; off >>= 1) {
    const T o = __shfl_xor_sync(kFull, v, off);
    v = op == WarpOp::kMin ? min(v, o) : op == WarpOp::kMax ? max(v, o) : (T)(v | o);
  }
  return v;
#endif
}

template <typename T> __device__ __forceinline__ T warpSum(T v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(kFull, v, off);
  return v;
}
__device__ __forceinline__ float warpMax(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_down_sync(kFull, v, off));
  return v;
}

inline int blocksFor(long long n, int sms) {
  const long long b = (n + 255) / 256;
  return (int)std::max<long long>(1, std::min<long long>(b, (long long)sms * 8));
}

// One user of the device at a time: the kernels share cached device buffers and the pinned result.
std::mutex& deviceMutex();
// The device's multiprocessor count (queried once).
int smCount();

// Verifies device-resident data (16-byte aligned): cudaVerify after its copy, and the benchmarks.
void cudaVerifyDevice(const float* dx, int64_t n, int64_t start, const GridParams& p, GridAcc& out, int64_t launchElements = kCudaVerifyLaunchElements);

}  // namespace ql
