#include "gridFit.hpp"
#include <vector>
#include "detmath.hpp"

namespace ql {

namespace {

constexpr size_t kChunk = 1024;

// One chunk: each element's code slot (q + qmax + 1) when it is a member, else the spare slot
// past the codes, so the loop has no branch and vectorizes; the scalar marking pass follows.
QL_CPU_CLONES uint64_t memberSlots(const float* x, size_t n, float s, int qmax, uint32_t* slot) {
  const float lo = (float)(-qmax - 1), hi = (float)(qmax + 1);
  const uint32_t spare = (uint32_t)(2 * qmax + 3);
  uint64_t members = 0;
  for (size_t i = 0; i < n; i++) {
    const float q = rintDet(x[i] / s);
    const bool in = q >= lo && q <= hi;  // false for NaN; +-inf fails the range
    const float qc = in ? q : 0.0f;      // keeps the conversion below defined
    const bool member = in && qc * s == x[i];
    members += member;
    slot[i] = member ? (uint32_t)((int)qc + qmax + 1) : spare;
  }
  return members;
}

}  // namespace

GridFit gridFit(const float* x, size_t n, float s, int qmax) {
  GridFit fit;
  std::vector<uint8_t> seen((size_t)(2 * qmax + 4), 0);
  uint32_t slot[kChunk];
  for (size_t at = 0; at < n; at += kChunk) {
    const size_t m = n - at < kChunk ? n - at : kChunk;
    fit.members += memberSlots(x + at, m, s, qmax, slot);
    for (size_t i = 0; i < m; i++) seen[slot[i]] = 1;
  }
  for (size_t c = 0; c + 1 < seen.size(); c++) fit.distinctCodes += seen[c];  // the spare slot is not a code
  return fit;
}

QL_CPU_CLONES AbsRange absRange(const float* x, size_t n) {
  float absMax = 0.0f, minNz = __builtin_inff();
  for (size_t i = 0; i < n; i++) {
    const float a = __builtin_fabsf(x[i]);
    const bool finite = a < __builtin_inff();  // false for NaN and +-inf
    absMax = finite && a > absMax ? a : absMax;
    minNz = finite && a != 0.0f && a < minNz ? a : minNz;
  }
  return {absMax, minNz};
}

}  // namespace ql
