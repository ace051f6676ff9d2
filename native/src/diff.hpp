// Element-wise comparison of two tensors in the real domain and, when scales are known, on the integer grid.
#pragma once
#include <cstdint>
#include <vector>

namespace ql {

struct DiffSide {
  float scale = 0.0f;    // 0: unknown (no integer-grid comparison)
  bool isCodes = false;  // values are integer codes; real value = fl32(code * scale)
};

struct DiffParams { DiffSide a, b; int topK = 10; };

struct DiffTop { int64_t index; float a, b, absDiff; };

struct DiffAcc {
  uint64_t n = 0, exact = 0, nanMismatch = 0;
  double sumAbs = 0, sumSqRef = 0, sumSqErr = 0, dot = 0, sumSqA = 0, sumSqB = 0;
  float maxAbs = 0;
  // integer grid
  uint64_t equalCodes = 0;
  double sumAbsDq = 0;
  double maxAbsDq = 0;
  std::vector<uint64_t> dqHist;  // |dq| histogram: 0..63, last bin is 64+
  std::vector<DiffTop> top;
  void merge(const DiffAcc& o, int topK);
};

constexpr int kDqBins = 65;

void diffRange(const float* a, const float* b, int64_t n, int64_t start, const DiffParams& p, DiffAcc& acc);
void diffParallel(const float* a, const float* b, int64_t n, int64_t start, const DiffParams& p, DiffAcc& acc, int threads);

}  // namespace ql
