#include "layers.hpp"
#include <algorithm>
#include <cmath>
#include <thread>
#include "detmath.hpp"
#include "hugepages.hpp"

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
  assignHuge(y, (size_t)(p.T * p.N), 0.0f);
  parallelRows(p.T, p.threads, [&](int64_t t0, int64_t t1) {
    std::vector<float> codes((size_t)p.K);
    for (int64_t t = t0; t < t1; t++) {
      for (int64_t k = 0; k < p.K; k++) codes[k] = quantizeCode(p.x[t * p.K + k], p.inputScale);
      for (int64_t n = 0; n < p.N; n++) {
        const float sw = p.weightScales.size() == 1 ? p.weightScales[0] : p.weightScales[n];
        y[t * p.N + n] = linearOutput(p.mode, codes.data(), p.w + n * p.K, p.K, p.inputScale, sw, p.bias ? p.bias + n : nullptr);
      }
    }
  });
}

static inline float softplusF(float v) { return v > 20.0f ? v : std::log1p(expDet(v)); }

void scanDeltas(const ScanProblem& p, std::vector<float>& dt) {
  dt.resize((size_t)(p.D * p.L));
  for (int64_t d = 0; d < p.D; d++) {
    const float bias = p.deltaBias ? p.deltaBias[d] : 0.0f;
    for (int64_t t = 0; t < p.L; t++) {
      const float v = p.delta[d * p.L + t] + bias;
      dt[d * p.L + t] = p.softplus ? softplusF(v) : v;
    }
  }
}

void scanRun(const ScanProblem& p, std::vector<float>& y) {
  std::vector<float> dt;
  scanDeltas(p, dt);
  assignHuge(y, (size_t)(p.D * p.L), 0.0f);
  parallelRows(p.D, p.threads, [&](int64_t d0, int64_t d1) {
    std::vector<float> h((size_t)p.S);
    for (int64_t d = d0; d < d1; d++) scanChannel(p, dt.data(), h.data(), d, y.data());
  });
}

}  // namespace ql
