// W8A8 linear (x_proj / in_proj / out_proj style) and the Mamba selective scan, in the three modes.
#pragma once
#include <cstdint>
#include <vector>
#include "conv1d.hpp"

namespace ql {

// y[t, n] for x [T, K] (FP32 activations) and an int8 weight [N, K] with one scale or one per output row.
struct LinearProblem {
  Mode mode = Mode::Baseline;
  int64_t T = 0, K = 0, N = 0;
  const float* x = nullptr;
  const int8_t* w = nullptr;
  const int32_t* bias = nullptr;  // optional, in units of inputScale * weightScale[n]
  float inputScale = 0;
  std::vector<float> weightScales;  // 1 or N
  int threads = 1;
};

// Baseline: int8 x int8 summed exactly in int32, + int32 bias, then fl32(acc) * fl32(s_x * s_w[n]).
// Modes 1/2: FP32 operands on the grid, FP32 products summed in k order, + FP32 bias (bias * s_x * s_w[n]).
void linearRun(const LinearProblem& p, std::vector<float>& y);

// Selective scan with FP32 state. u, delta, z: [D, L]; A: [D, S]; Bm, Cm: [S, L]; Dskip, deltaBias: [D].
struct ScanProblem {
  int64_t D = 0, L = 0, S = 0;
  const float *u = nullptr, *delta = nullptr, *A = nullptr, *Bm = nullptr, *Cm = nullptr, *Dskip = nullptr, *z = nullptr, *deltaBias = nullptr;
  bool softplus = true;
  int threads = 1;
};

void scanRun(const ScanProblem& p, std::vector<float>& y);

}  // namespace ql
