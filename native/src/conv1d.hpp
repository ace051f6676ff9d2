// Causal depthwise conv1d + bias + SiLU of a Mamba block, in the three evaluation modes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "detmath.hpp"
#include "resultBuffer.hpp"

namespace Napi { class Env; class Object; }

namespace ql {

enum class Mode { Baseline, Mode1, Mode2 };

struct Conv1dProblem {
  Mode mode = Mode::Baseline;
  int64_t B = 1, D = 0, L = 0, K = 4;
  const float* x = nullptr;        // FP32 input [B, D, L]
  const int8_t* w = nullptr;       // int8 weight [D, 1, K]
  const int32_t* bias = nullptr;   // int32 bias [D], in units of biasScale
  float inputScale = 0, weightScale = 0, biasScale = 0, outputScale = 0;
  int threads = 1;
};

struct Conv1dOutputs {
  // Baseline: int8 codes; Modes 1/2: FP32 values. Each [B, D, L], every element written by the run.
  ResultVector<int8_t> inputQ, outputQ;
  ResultVector<float> inputSim, outputSim, ssmInput;
};

// Round half to even and clamp to int8, in FP32: clamp(rint(fl32(v / s))).
QL_HD float quantizeCode(float v, float s) {
  const float r = rintDet(v / s);
  return r < -128.0f ? -128.0f : (r > 127.0f ? 127.0f : r);
}

// A code held in a float (from quantizeCode) as an integer. NaN has no code: it becomes 0
// (casting NaN to an integer is undefined behaviour; torch's result for it is platform-dependent).
QL_HD int32_t codeToInt(float c) { return c == c ? (int32_t)c : 0; }

float siluF32(float y);
void conv1dRun(const Conv1dProblem& p, Conv1dOutputs& out);
void registerLayerFunctions(Napi::Env env, Napi::Object exports);

}  // namespace ql
