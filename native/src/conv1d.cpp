#include "conv1d.hpp"
#include "detmath.hpp"
#include <algorithm>
#include <cmath>
#include <thread>

namespace ql {

// SiLU in FP32 as y * sigmoid(y), sigmoid = 1 / (1 + exp(-y)), with the device-independent exp.
float siluF32(float y) { return siluDet(y); }

static void runChannels(const Conv1dProblem& p, Conv1dOutputs& o, int64_t d0, int64_t d1) {
  const int64_t L = p.L, K = p.K;
  const float sx = p.inputScale, sw = p.weightScale, sb = p.biasScale, so = p.outputScale;
  for (int64_t b = 0; b < p.B; b++) {
    for (int64_t d = d0; d < d1; d++) {
      const int64_t row = (b * p.D + d) * L;
      const float* x = p.x + row;
      const int8_t* w = p.w + d * K;
      if (p.mode == Mode::Baseline) {
        int8_t* xq = o.inputQ.data() + row;
        for (int64_t t = 0; t < L; t++) xq[t] = (int8_t)quantizeCode(x[t], sx);
        for (int64_t t = 0; t < L; t++) {
          // Exact integer accumulation: int8 x int8 products summed in int32, then the int32 bias.
          int32_t acc = 0;
          for (int64_t k = 0; k < K; k++) {
            const int64_t src = t - (K - 1) + k;
            if (src >= 0) acc += (int32_t)w[k] * (int32_t)xq[src];
          }
          acc += p.bias[d];
          const float y = (float)acc * sb;  // FP32 epilogue
          o.outputQ[row + t] = (int8_t)quantizeCode(siluF32(y), so);
        }
      } else {
        float* xs = o.inputSim.data() + row;
        for (int64_t t = 0; t < L; t++) xs[t] = quantizeCode(x[t], sx) * sx;
        float ws[64];
        for (int64_t k = 0; k < K; k++) ws[k] = (float)w[k] * sw;
        const float b32 = (float)p.bias[d] * sb;
        for (int64_t t = 0; t < L; t++) {
          float acc = 0.0f;
          for (int64_t k = 0; k < K; k++) {
            const int64_t src = t - (K - 1) + k;
            if (src >= 0) acc += ws[k] * xs[src];
          }
          const float ys = siluF32(acc + b32);
          o.ssmInput[row + t] = ys;
          o.outputSim[row + t] = quantizeCode(ys, so) * so;
        }
        if (p.mode == Mode::Mode2) std::copy(o.outputSim.begin() + row, o.outputSim.begin() + row + L, o.ssmInput.begin() + row);
      }
    }
  }
}

void conv1dRun(const Conv1dProblem& p, Conv1dOutputs& o) {
  const size_t n = (size_t)(p.B * p.D * p.L);
  if (p.mode == Mode::Baseline) { o.inputQ.assign(n, 0); o.outputQ.assign(n, 0); }
  else { o.inputSim.assign(n, 0); o.outputSim.assign(n, 0); o.ssmInput.assign(n, 0); }
  const int t = std::max<int64_t>(1, std::min<int64_t>(p.threads, p.D));
  std::vector<std::thread> pool;
  const int64_t per = (p.D + t - 1) / t;
  for (int k = 0; k < t; k++) {
    const int64_t d0 = k * per, d1 = std::min(p.D, d0 + per);
    if (d0 < d1) pool.emplace_back([&, d0, d1] { runChannels(p, o, d0, d1); });
  }
  for (auto& th : pool) th.join();
}

}  // namespace ql
