// Measurements of the verify kernel (benchmarks) and the exhaustive check of its fast division (kernel_test).
#include "common.cuh"
#include "division.cuh"

namespace ql {

namespace {

// Exhaustive check of divRN against __fdiv_rn over every float bit pattern (kernel_test).
__global__ void divisionCheckKernel(float s, float inv, unsigned long long* mismatches) {
  unsigned long long bad = 0;
  for (unsigned long long b = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; b < (1ull << 32); b += (unsigned long long)gridDim.x * blockDim.x) {
    const float v = __uint_as_float((unsigned)b);
    const float fast = divRN(v, s, inv, true), ref = __fdiv_rn(v, s);
    // Non-finite inputs never use their quotient; == because a zero quotient's sign changes no result.
    bad += isfinite(v) && fast != ref && !(isnan(fast) && isnan(ref));
  }
  bad = warpSum(bad);
  if ((threadIdx.x & 31) == 0 && bad) atomicAdd(mismatches, bad);
}

}  // namespace

uint64_t cudaCheckFastDivision(float s) {
  unsigned long long* d = nullptr;
  check(cudaMalloc(&d, sizeof *d), "alloc mismatch count");
  check(cudaMemset(d, 0, sizeof *d), "init mismatch count");
  int sms = 0, dev = 0; cudaGetDevice(&dev); cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  divisionCheckKernel<<<sms * 8, 256>>>(s, 1.0f / s, d);
  check(cudaGetLastError(), "division check kernel");
  unsigned long long bad = 0;
  check(cudaMemcpy(&bad, d, sizeof bad, cudaMemcpyDeviceToHost), "read mismatch count");
  cudaFree(d);
  return bad;
}

BenchResult cudaBenchVerify(const float* x, int64_t n, const GridParams& p, int iters) {
  float* dx = nullptr;
  check(cudaMalloc(&dx, n * sizeof(float)), "alloc bench input");
  check(cudaMemcpy(dx, x, n * sizeof(float), cudaMemcpyHostToDevice), "copy bench input");
  GridAcc warm; cudaVerifyDevice(dx, n, 0, p, warm);
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  cudaEventRecord(a);
  for (int i = 0; i < iters; i++) { GridAcc acc; cudaVerifyDevice(dx, n, 0, p, acc); }
  cudaEventRecord(b); cudaEventSynchronize(b);
  float ms = 0; cudaEventElapsedTime(&ms, a, b);
  cudaFree(dx);
  int dev = 0, memClockKhz = 0, busBits = 0;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&memClockKhz, cudaDevAttrMemoryClockRate, dev);
  cudaDeviceGetAttribute(&busBits, cudaDevAttrGlobalMemoryBusWidth, dev);
  const double peak = 2.0 * memClockKhz * 1e3 * (busBits / 8) / 1e9;
  const double per = ms / iters;
  return BenchResult{n * 4.0 / (per * 1e6), peak, per};
}

}  // namespace ql
