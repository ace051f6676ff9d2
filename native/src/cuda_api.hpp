// The CUDA side, behind a C++ interface: compiled from cuda/*.cu when nvcc is found, otherwise
// from cuda_none.cpp. cudart is linked statically and loads the driver lazily, so the same
// binary loads on a machine without a GPU driver and simply reports no device.
#pragma once
#include <cstdint>
#include <string>
#include "grid.hpp"
#include "conv1d.hpp"
#include "layers.hpp"

namespace ql {
bool cudaCompiled();
bool cudaAvailable();
std::string cudaDeviceName();
// The most elements one verify launch takes (a multiple of 4, below 2^31: the on-grid kernel's loop
// positions are 32-bit); larger inputs are verified in launches of this size and merged, as chunks are.
constexpr int64_t kCudaVerifyLaunchElements = (int64_t)1 << 30;
// Same semantics and results as verifyParallel. launchElements: as above (the tests pass small ones).
void cudaVerify(const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& acc, int64_t launchElements = kCudaVerifyLaunchElements);
struct BenchResult { double gbPerSec, peakGbPerSec, msPerPass; };
// Copies data to the device once, then times `iters` verification passes over it.
BenchResult cudaBenchVerify(const float* x, int64_t n, const GridParams& p, int iters);
// Number of float inputs (of all 2^32) where the GPU's fast fl32(x/s) differs from IEEE division.
uint64_t cudaCheckFastDivision(float s);
// Same semantics and results as conv1dRun on the CPU.
void cudaConv1d(const Conv1dProblem& prob, Conv1dOutputs& out);
// Same semantics and results as linearRun / scanRun on the CPU.
void cudaLinear(const LinearProblem& p, std::vector<float>& y);
void cudaScan(const ScanProblem& p, std::vector<float>& y);
// Benchmarks: milliseconds per call of the layer's kernels alone, operands resident on the device (as PyTorch is timed).
double cudaTimeConv1dResident(const Conv1dProblem& prob, int reps);
double cudaTimeLinearResident(const LinearProblem& p, int reps);
// The scan's kernels: Tiled (what cudaScan runs: parallel over time, channels and states) and
// PerChannel (one thread per channel over all of time, the first version: the benchmark's reference).
enum class ScanKernel { Tiled, PerChannel };
double cudaTimeScanResident(const ScanProblem& p, int reps, ScanKernel kernel = ScanKernel::Tiled);
}  // namespace ql
