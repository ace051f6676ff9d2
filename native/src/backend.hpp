// The one place that chooses where numeric work runs: the CPU kernels or their CUDA twins, which
// give the same results bit for bit. The N-API layer names a Device; nothing else branches on it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "grid.hpp"
#include "conv1d.hpp"
#include "layers.hpp"

namespace ql {

enum class Device { Cpu, Cuda };

// "cuda" asks for the GPU; an empty string on success, else why it cannot be had.
std::string deviceFor(const std::string& requested, Device& out);
const char* deviceName(Device d);

void runVerify(Device d, const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& acc, int threads);
void runConv1d(Device d, const Conv1dProblem& p, Conv1dOutputs& out);
void runLinear(Device d, const LinearProblem& p, std::vector<float>& y);
void runScan(Device d, const ScanProblem& p, std::vector<float>& y);

}  // namespace ql
