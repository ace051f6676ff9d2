// The device itself: whether CUDA was compiled in and a GPU is present, its name, its lock.
#include "common.cuh"

namespace ql {

bool cudaCompiled() { return true; }

bool cudaAvailable() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

std::string cudaDeviceName() {
  if (!cudaAvailable()) return "";
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "";
  return prop.name;
}

std::mutex& deviceMutex() {
  static std::mutex mu;
  return mu;
}

int smCount() {
  static const int sms = [] {
    int dev = 0, n = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
    return n;
  }();
  return sms;
}

}  // namespace ql
