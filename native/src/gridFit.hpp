// How well a candidate per-tensor grid fits a sample: the inner loop of scale inference
// (src/analysis/scale.ts picks the candidates and the verdict; this only counts).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ql {

struct GridFit {
  uint64_t members = 0;        // elements x with x == fl32(q·s), q = rint(fl32(x/s)) in [-(qmax+1), qmax+1]
  uint32_t distinctCodes = 0;  // distinct q among the members
};

// The largest finite |x| and the smallest nonzero finite |x| (+inf when there is none; 0 for absMax then).
struct AbsRange {
  float absMax = 0.0f, minNonzero = __builtin_inff();
};

GridFit gridFit(const float* x, size_t n, float s, int qmax);
AbsRange absRange(const float* x, size_t n);

}  // namespace ql
