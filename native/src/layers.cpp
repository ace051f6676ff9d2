#include "layers.hpp"
#include <algorithm>
#include <cmath>
#include <thread>
#include "detmath.hpp"

namespace ql {

template <typename F>
static void parallelRows(int64_t rows, int threads, F f) {
  const int t = (int)std::max<int64_t>(1, std::min<int64_t>(threads, rows));
  std::vector<std::thread> pool;
  const int64_t per = (rows + t - 1) / t;
  for (int k = 0; k < t; k++) {
    const int64_t a = k * per, b = std::min(rows, a + per);
    if (a < b) pool.emplace_back([=] { f(a, b); });
  }
  for (auto& th : pool) th.join();
}

void linearRun(const LinearProblem& p, std::vector<float>& y) {
  y.assign((size_t)(p.T * p.N), 0.0f);
  const float sx = p.inputScale;
  parallelRows(p.T, p.threads, [&](int64_t t0, int64_t t1) {
    std::vector<int32_t> xq((size_t)p.K);
    std::vector<float> xs((size_t)p.K);
    for (int64_t t = t0; t < t1; t++) {
      const float* x = p.x + t * p.K;
      for (int64_t k = 0; k < p.K; k++) { const float c = quantizeCode(x[k], sx); xq[k] = (int32_t)c; xs[k] = c * sx; }
      for (int64_t n = 0; n < p.N; n++) {
        const float sw = p.weightScales.size() == 1 ? p.weightScales[0] : p.weightScales[n];
        const int8_t* w = p.w + n * p.K;
        const float sb = sx * sw;  // FP32 product of the two scales: the bias / output scale
        if (p.mode == Mode::Baseline) {
          int32_t acc = 0;
          for (int64_t k = 0; k < p.K; k++) acc += xq[k] * (int32_t)w[k];
          if (p.bias) acc += p.bias[n];
          y[t * p.N + n] = (float)acc * sb;
        } else {
          float acc = 0.0f;
          for (int64_t k = 0; k < p.K; k++) acc += xs[k] * ((float)w[k] * sw);
          if (p.bias) acc += (float)p.bias[n] * sb;
          y[t * p.N + n] = acc;
        }
      }
    }
  });
}

static inline float softplusF(float v) { return v > 20.0f ? v : std::log1p(expDet(v)); }

void scanRun(const ScanProblem& p, std::vector<float>& y) {
  y.assign((size_t)(p.D * p.L), 0.0f);
  parallelRows(p.D, p.threads, [&](int64_t d0, int64_t d1) {
    std::vector<float> h((size_t)p.S);
    for (int64_t d = d0; d < d1; d++) {
      std::fill(h.begin(), h.end(), 0.0f);
      const float* A = p.A + d * p.S;
      for (int64_t t = 0; t < p.L; t++) {
        float dt = p.delta[d * p.L + t] + (p.deltaBias ? p.deltaBias[d] : 0.0f);
        if (p.softplus) dt = softplusF(dt);
        const float u = p.u[d * p.L + t];
        float out = 0.0f;
        for (int64_t s = 0; s < p.S; s++) {
          const float dA = expDet(dt * A[s]);
          h[s] = dA * h[s] + (dt * p.Bm[s * p.L + t]) * u;
          out += h[s] * p.Cm[s * p.L + t];
        }
        if (p.Dskip) out += u * p.Dskip[d];
        if (p.z) out *= siluDet(p.z[d * p.L + t]);
        y[d * p.L + t] = out;
      }
    }
  });
}

}  // namespace ql
