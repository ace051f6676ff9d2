// W8A8 linear (x_proj / in_proj / out_proj style) and the Mamba selective scan, in the three modes.
#pragma once
#include <cstdint>
#include <vector>
#include "conv1d.hpp"
#include "detmath.hpp"

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

// dt = softplus(delta + delta_bias) (or without softplus), computed once on the CPU for both devices,
// so the CUDA scan needs no log1p of its own and both give the same bits.
void scanDeltas(const ScanProblem& p, std::vector<float>& dt);
// The recurrence for channels [d0, d1) given dt: the CPU loop, written once for host and device.
void scanRun(const ScanProblem& p, std::vector<float>& y);

// One channel's recurrence over time, FP32 state: the same operations on the CPU and in the CUDA kernel.
QL_HD void scanChannel(const ScanProblem& p, const float* dt, float* h, int64_t d, float* y) {
  for (int64_t s = 0; s < p.S; s++) h[s] = 0.0f;
  const float* A = p.A + d * p.S;
  for (int64_t t = 0; t < p.L; t++) {
    const float dtv = dt[d * p.L + t];
    const float u = p.u[d * p.L + t];
    float out = 0.0f;
    for (int64_t s = 0; s < p.S; s++) {
      const float dA = expDet(dtv * A[s]);
      h[s] = dA * h[s] + (dtv * p.Bm[s * p.L + t]) * u;
      out += h[s] * p.Cm[s * p.L + t];
    }
    if (p.Dskip) out += u * p.Dskip[d];
    if (p.z) out *= siluDet(p.z[d * p.L + t]);
    y[d * p.L + t] = out;
  }
}

// One output of the W8A8 linear from a row of input codes q = clamp(rint(x/s_x)) (both devices):
// Baseline sums q*w exactly in int32 and adds the int32 bias; Modes 1/2 sum (q*s_x)*(w*s_w) in FP32, k in order.
QL_HD float linearOutput(Mode mode, const float* codes, const int8_t* w, int64_t K, float sx, float sw, const int32_t* bias) {
  const float sb = sx * sw;
  if (mode == Mode::Baseline) {
    // An int32 accumulator wraps on overflow as the hardware's does (unsigned arithmetic: defined).
    uint32_t acc = 0;
    for (int64_t k = 0; k < K; k++) acc += (uint32_t)(codeToInt(codes[k]) * (int32_t)w[k]);
    if (bias) acc += (uint32_t)*bias;
    return (float)(int32_t)acc * sb;
  }
  float acc = 0.0f;
  for (int64_t k = 0; k < K; k++) acc += (codes[k] * sx) * ((float)w[k] * sw);
  if (bias) acc += (float)*bias * sb;
  return acc;
}

}  // namespace ql
