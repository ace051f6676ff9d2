#include "backend.hpp"
#include "cuda_api.hpp"

namespace ql {

std::string deviceFor(const std::string& requested, Device& out) {
  out = Device::Cpu;
  if (requested != "cuda") return "";
  if (!cudaAvailable()) return "device 'cuda' requested but no CUDA device is available";
  out = Device::Cuda;
  return "";
}

const char* deviceName(Device d) { return d == Device::Cuda ? "cuda" : "cpu"; }

void runVerify(Device d, const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& acc, int threads) {
  if (d == Device::Cuda) cudaVerify(x, n, start, p, acc);
  else verifyParallel(x, n, start, p, acc, threads);
}

void runConv1d(Device d, const Conv1dProblem& p, Conv1dOutputs& out) {
  if (d == Device::Cuda) cudaConv1d(p, out);
  else conv1dRun(p, out);
}

void runLinear(Device d, const LinearProblem& p, std::vector<float>& y) {
  if (d == Device::Cuda) cudaLinear(p, y);
  else linearRun(p, y);
}

void runScan(Device d, const ScanProblem& p, std::vector<float>& y) {
  if (d == Device::Cuda) cudaScan(p, y);
  else scanRun(p, y);
}

}  // namespace ql
