#include "conv1d.hpp"
#include "detmath.hpp"
#include <algorithm>
#include <cmath>
#include <thread>

namespace ql {

// SiLU in FP32 as y * sigmoid(y), sigmoid = 1 / (1 + exp(-y)), with the device-independent exp.
float siluF32(float y) { return siluDet(y); }

// One (batch, channel) row at a time, as whole-row loops the compiler vectorizes. The order of
// operations per element is the CUDA kernel's: acc = 0; acc += w[k]*x[t-K+1+k] for k = 0..K-1
// (zero padding adds +0, which leaves acc unchanged), then the bias, SiLU and re-quantization.
// Compiled per instruction set (QL_CPU_CLONES); no FMA in any copy, so the results do not change.
QL_CPU_CLONES static void runChannels(const Conv1dProblem& p, Conv1dOutputs& o, int64_t d0, int64_t d1) {
  const int64_t L = p.L, K = p.K;
  const float sx = p.inputScale, sw = p.weightScale, sb = p.biasScale, so = p.outputScale;
  std::vector<float> pad((size_t)(L + K - 1), 0.0f), acc((size_t)L);
  std::vector<int32_t> padQ((size_t)(L + K - 1), 0), accQ((size_t)L);
  float* pd = pad.data() + (K - 1);
  int32_t* pq = padQ.data() + (K - 1);
  for (int64_t b = 0; b < p.B; b++) {
    for (int64_t d = d0; d < d1; d++) {
      const int64_t row = (b * p.D + d) * L;
      const float* x = p.x + row;
      const int8_t* w = p.w + d * K;
      if (p.mode == Mode::Baseline) {
        int8_t* xq = o.inputQ.data() + row;
        for (int64_t t = 0; t < L; t++) pq[t] = codeToInt(quantizeCode(x[t], sx));
        for (int64_t t = 0; t < L; t++) xq[t] = (int8_t)pq[t];
        // Exact integer accumulation: int8 x int8 products summed in int32, then the int32 bias.
        for (int64_t t = 0; t < L; t++) accQ[t] = 0;
        for (int64_t k = 0; k < K; k++) {
          const int32_t wk = w[k];
          const int32_t* src = padQ.data() + k;
          for (int64_t t = 0; t < L; t++) accQ[t] += wk * src[t];
        }
        const int32_t bias = p.bias[d];
        int8_t* out = o.outputQ.data() + row;
        for (int64_t t = 0; t < L; t++) {
          const float y = (float)(int32_t)((uint32_t)accQ[t] + (uint32_t)bias) * sb;  // int32 add wraps as hardware's; FP32 epilogue
          out[t] = (int8_t)codeToInt(quantizeCode(siluDet(y), so));
        }
      } else {
        float* xs = o.inputSim.data() + row;
        for (int64_t t = 0; t < L; t++) pd[t] = quantizeCode(x[t], sx) * sx;
        for (int64_t t = 0; t < L; t++) xs[t] = pd[t];
        for (int64_t t = 0; t < L; t++) acc[t] = 0.0f;
        for (int64_t k = 0; k < K; k++) {
          const float wk = (float)w[k] * sw;
          const float* src = pad.data() + k;
          for (int64_t t = 0; t < L; t++) acc[t] += wk * src[t];
        }
        const float b32 = (float)p.bias[d] * sb;
        float* ssm = o.ssmInput.data() + row;
        float* grid = o.outputSim.data() + row;
        for (int64_t t = 0; t < L; t++) {
          const float ys = siluDet(acc[t] + b32);
          const float g = quantizeCode(ys, so) * so;
          grid[t] = g;
          ssm[t] = p.mode == Mode::Mode2 ? g : ys;
        }
      }
    }
  }
}

void conv1dRun(const Conv1dProblem& p, Conv1dOutputs& o) {
  const size_t n = (size_t)(p.B * p.D * p.L);
  // Unwritten until runChannels: its threads cover every channel of every batch, each row in full.
  if (p.mode == Mode::Baseline) { o.inputQ.resize(n); o.outputQ.resize(n); }
  else { o.inputSim.resize(n); o.outputSim.resize(n); o.ssmInput.resize(n); }
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
