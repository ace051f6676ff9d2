#include "recipe.hpp"
#include "hugepages.hpp"
#include <algorithm>
#include <cmath>
#include <thread>

namespace ql {

float quantizeWith(float v, float s, Rounding mode) {
  const float r = v / s;
  double q;
  // Ties and halves in double, as the rounding fingerprint defines them (fl32(r) + 0.5 could itself round).
  switch (mode) {
    case Rounding::HalfEven: q = rintDet(r); break;
    case Rounding::HalfAway: q = std::copysign(std::floor(std::fabs((double)r) + 0.5), (double)r); break;
    case Rounding::HalfUp: q = std::floor((double)r + 0.5); break;
    case Rounding::Truncate: q = std::trunc((double)r); break;
    default: q = std::floor((double)r); break;
  }
  if (q != q) return q;  // NaN stays NaN: codeToInt makes it 0, as the mode kernels do
  return (float)(q < -128.0 ? -128.0 : (q > 127.0 ? 127.0 : q));
}

static void recipeChannels(const Conv1dProblem& p, const Conv1dRecipe& rc, Conv1dRecipeOutputs& o, int64_t d0, int64_t d1) {
  const int64_t L = p.L, K = p.K;
  const float sx = p.inputScale, sw = p.weightScale, sb = p.biasScale, so = p.outputScale;
  std::vector<int32_t> qx((size_t)(L + K - 1), 0);
  std::vector<float> px((size_t)(L + K - 1), 0.0f);
  for (int64_t b = 0; b < p.B; b++) {
    for (int64_t d = d0; d < d1; d++) {
      const int64_t row = (b * p.D + d) * L;
      const float* x = p.x + row;
      const int8_t* w = p.w + d * K;
      for (int64_t t = 0; t < L; t++) {
        const float c = quantizeWith(x[t], sx, rc.inputRounding);
        qx[(size_t)(t + K - 1)] = codeToInt(c);
        px[(size_t)(t + K - 1)] = c * sx;
      }
      const int32_t bi = p.bias[d];
      const float b32 = (float)bi * sb;
      for (int64_t t = 0; t < L; t++) {
        float y;
        if (!rc.earlyScales) {
          // Integer products; the one scale (the bias scale, as an int8 GEMM epilogue has it) applies to the sum.
          if (!rc.fp32Accumulate) {
            int32_t s = 0;
            for (int64_t k = 0; k < K; k++) s += (int32_t)w[k] * qx[(size_t)(t + k)];
            y = rc.biasEpilogue ? (float)s * sb + b32 : (float)(int32_t)((uint32_t)s + (uint32_t)bi) * sb;
          } else {
            float s = rc.biasEpilogue ? 0.0f : (float)bi;
            for (int64_t k = 0; k < K; k++) s += (float)((int32_t)w[k] * qx[(size_t)(t + k)]);
            y = rc.biasEpilogue ? s * sb + b32 : s * sb;
          }
        } else {
          if (rc.fp32Accumulate) {
            float s = rc.biasEpilogue ? 0.0f : b32;
            for (int64_t k = 0; k < K; k++) s += ((float)w[k] * sw) * px[(size_t)(t + k)];
            y = rc.biasEpilogue ? s + b32 : s;
          } else {
            double s = rc.biasEpilogue ? 0.0 : (double)b32;
            for (int64_t k = 0; k < K; k++) s += (double)(((float)w[k] * sw) * px[(size_t)(t + k)]);
            y = rc.biasEpilogue ? (float)s + b32 : (float)s;
          }
        }
        const float ys = siluDet(y);
        const float code = quantizeWith(ys, so, rc.outputRounding);
        o.codes[(size_t)(row + t)] = (int8_t)codeToInt(code);
        o.ssm[(size_t)(row + t)] = rc.ssmUnquantized ? ys : code * so;
      }
    }
  }
}

void conv1dRecipeRun(const Conv1dProblem& p, const Conv1dRecipe& r, Conv1dRecipeOutputs& o) {
  const size_t n = (size_t)(p.B * p.D * p.L);
  assignHuge<int8_t>(o.codes, n, 0);
  assignHuge(o.ssm, n, 0.0f);
  const int t = (int)std::max<int64_t>(1, std::min<int64_t>(p.threads, p.D));
  std::vector<std::thread> pool;
  const int64_t per = (p.D + t - 1) / t;
  for (int k = 0; k < t; k++) {
    const int64_t d0 = k * per, d1 = std::min(p.D, d0 + per);
    if (d0 < d1) pool.emplace_back([&, d0, d1] { recipeChannels(p, r, o, d0, d1); });
  }
  for (auto& th : pool) th.join();
}

void conv1dReference(const Conv1dProblem& p, std::vector<float>& y) {
  const int64_t L = p.L, K = p.K;
  assignHuge(y, (size_t)(p.B * p.D * L), 0.0f);
  for (int64_t b = 0; b < p.B; b++) {
    for (int64_t d = 0; d < p.D; d++) {
      const int64_t row = (b * p.D + d) * L;
      const float b32 = (float)p.bias[d] * p.biasScale;
      for (int64_t t = 0; t < L; t++) {
        float s = 0.0f;
        for (int64_t k = 0; k < K; k++) {
          const int64_t src = t - (K - 1) + k;
          if (src >= 0) s += ((float)p.w[d * K + k] * p.weightScale) * p.x[row + src];
        }
        y[(size_t)(row + t)] = siluDet(s + b32);
      }
    }
  }
}

void linearRecipeRun(const LinearProblem& p, const LinearRecipe& rc, std::vector<float>& y) {
  assignHuge(y, (size_t)(p.T * p.N), 0.0f);
  std::vector<float> codes((size_t)p.K);
  for (int64_t t = 0; t < p.T; t++) {
    for (int64_t k = 0; k < p.K; k++) codes[(size_t)k] = quantizeWith(p.x[t * p.K + k], p.inputScale, rc.inputRounding);
    for (int64_t n = 0; n < p.N; n++) {
      const float sx = p.inputScale, sw = p.weightScales.size() == 1 ? p.weightScales[0] : p.weightScales[(size_t)n];
      const float sb = sx * sw;
      const int8_t* w = p.w + n * p.K;
      const int32_t bi = p.bias ? p.bias[n] : 0;
      const float b32 = (float)bi * sb;
      float out;
      if (!rc.earlyScales) {
        if (!rc.fp32Accumulate) {
          uint32_t acc = 0;  // wraps as the hardware's int32 accumulator
          for (int64_t k = 0; k < p.K; k++) acc += (uint32_t)(codeToInt(codes[(size_t)k]) * (int32_t)w[k]);
          out = rc.biasEpilogue ? (float)(int32_t)acc * sb + b32 : (float)(int32_t)(acc + (uint32_t)bi) * sb;
        } else {
          float acc = rc.biasEpilogue ? 0.0f : (float)bi;
          for (int64_t k = 0; k < p.K; k++) acc += (float)(codeToInt(codes[(size_t)k]) * (int32_t)w[k]);
          out = rc.biasEpilogue ? acc * sb + b32 : acc * sb;
        }
      } else if (rc.fp32Accumulate) {
        float acc = rc.biasEpilogue ? 0.0f : b32;
        for (int64_t k = 0; k < p.K; k++) acc += (codes[(size_t)k] * sx) * ((float)w[k] * sw);
        out = rc.biasEpilogue && p.bias ? acc + b32 : acc;
      } else {
        double acc = rc.biasEpilogue ? 0.0 : (double)b32;
        for (int64_t k = 0; k < p.K; k++) acc += (double)((codes[(size_t)k] * sx) * ((float)w[k] * sw));
        out = rc.biasEpilogue && p.bias ? (float)acc + b32 : (float)acc;
      }
      y[(size_t)(t * p.N + n)] = out;
    }
  }
}

}  // namespace ql
