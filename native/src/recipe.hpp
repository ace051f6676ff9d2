// conv1d as a recipe of independent switches, one per difference between the evaluation modes, so
// that attribution can evaluate every combination: Baseline is the recipe with every switch off (and
// its rounding), Mode 2 the one with every switch but the SSM path on, Mode 1 all on. CPU only.
#pragma once
#include <cstdint>
#include <vector>
#include "conv1d.hpp"
#include "layers.hpp"

namespace ql {

// The rounding functions a quantization step may use (as `quant-lens rounding` names them).
enum class Rounding : uint8_t { HalfEven = 0, HalfAway = 1, HalfUp = 2, Truncate = 3, Floor = 4 };

struct Conv1dRecipe {
  bool earlyScales = false;     // off: integer products, one scale on the sum (int8 GEMM); on: operands dequantized first
  bool fp32Accumulate = false;  // off: exact sum, rounded once; on: a running FP32 sum in kernel-tap order
  bool biasEpilogue = false;    // off: the bias joins the accumulator; on: FP32 bias*bias_scale added after it
  Rounding inputRounding = Rounding::HalfEven;
  Rounding outputRounding = Rounding::HalfEven;
  bool ssmUnquantized = false;  // on: the SSM gets the FP32 SiLU output (Mode 1); off: the output on its grid
};

struct Conv1dRecipeOutputs {
  std::vector<int8_t> codes;  // output codes [B, D, L]
  std::vector<float> ssm;     // what the SSM consumes: code*output_scale, or the FP32 SiLU output
};

// Round r (an FP32 ratio) to an integer by `mode`, then clamp to int8, as a float.
float quantizeWith(float v, float s, Rounding mode);
void conv1dRecipeRun(const Conv1dProblem& p, const Conv1dRecipe& r, Conv1dRecipeOutputs& o);
// The FP32 reference: unquantized input, dequantized weights, FP32 bias, SiLU; no output quantization.
void conv1dReference(const Conv1dProblem& p, std::vector<float>& y);

// The W8A8 linear's switches (its output is FP32: no output rounding, no SSM path).
struct LinearRecipe {
  bool earlyScales = false;
  bool fp32Accumulate = false;
  bool biasEpilogue = false;
  Rounding inputRounding = Rounding::HalfEven;
};
// Baseline = every switch off (with its rounding); Modes 1/2 = scales, accumulation and bias on, half to even.
void linearRecipeRun(const LinearProblem& p, const LinearRecipe& r, std::vector<float>& y);

}  // namespace ql
