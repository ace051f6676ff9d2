// Built when no CUDA toolkit was found: the addon reports no CUDA device.
#include <stdexcept>
#include <string>
#include "cuda_api.hpp"

namespace ql {
bool cudaCompiled() { return false; }
bool cudaAvailable() { return false; }
std::string cudaDeviceName() { return ""; }
void cudaVerify(const float*, int64_t, int64_t, const GridParams&, GridAcc&, int64_t) { throw std::runtime_error("this build of the addon has no CUDA support"); }
BenchResult cudaBenchVerify(const float*, int64_t, const GridParams&, int) { throw std::runtime_error("this build of the addon has no CUDA support"); }
uint64_t cudaCheckFastDivision(float) { throw std::runtime_error("this build of the addon has no CUDA support"); }
void cudaConv1d(const Conv1dProblem&, Conv1dOutputs&) { throw std::runtime_error("this build of the addon has no CUDA support"); }
void cudaLinear(const LinearProblem&, std::vector<float>&) { throw std::runtime_error("this build of the addon has no CUDA support"); }
void cudaScan(const ScanProblem&, std::vector<float>&) { throw std::runtime_error("this build of the addon has no CUDA support"); }
double cudaTimeConv1dResident(const Conv1dProblem&, int) { throw std::runtime_error("this build of the addon has no CUDA support"); }
double cudaTimeLinearResident(const LinearProblem&, int) { throw std::runtime_error("this build of the addon has no CUDA support"); }
double cudaTimeScanResident(const ScanProblem&, int, ScanKernel) { throw std::runtime_error("this build of the addon has no CUDA support"); }
}  // namespace ql
