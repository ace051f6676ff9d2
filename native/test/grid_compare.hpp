// Equality of two verification results, field by field, for the tests that compare kernels
// (kernel_test: CUDA against CPU, threaded against not, the two CPU kernels; the fuzzer: the two
// CPU kernels on every input). `why` collects the names of the fields that differ.
#pragma once
#include <cstring>
#include <string>
#include "grid.hpp"

namespace ql {

inline bool same(double a, double b) { return a == b || (a != a && b != b); }  // NaN (inf - inf sums, overflowing quotients) equals NaN

inline bool sameAcc(const GridAcc& a, const GridAcc& b, std::string& why) {
  auto f = [&](bool ok, const char* field) { if (!ok) why += std::string(field) + " "; return ok; };
  bool ok = true;
  ok &= f(a.n == b.n, "n"); ok &= f(a.nan == b.nan, "nan"); ok &= f(a.inf == b.inf, "inf");
  ok &= f(a.offTol == b.offTol, "offTol"); ok &= f(a.artifacts == b.artifacts, "artifacts"); ok &= f(a.offGrid == b.offGrid, "offGrid");
  ok &= f(a.outOfRange == b.outOfRange, "outOfRange"); ok &= f(a.satPos == b.satPos, "satPos"); ok &= f(a.satNeg == b.satNeg, "satNeg");
  ok &= f(same(a.sumQ, b.sumQ), "sumQ"); ok &= f(same(a.sumQ2, b.sumQ2), "sumQ2"); ok &= f(a.qMin == b.qMin, "qMin"); ok &= f(a.qMax == b.qMax, "qMax");
  ok &= f(a.maxDev == b.maxDev, "maxDev"); ok &= f(a.maxRecon == b.maxRecon, "maxRecon");
  ok &= f(std::memcmp(a.devHist, b.devHist, sizeof a.devHist) == 0, "devHist");
  ok &= f(a.codeHist == b.codeHist, "codeHist");
  bool w = a.worst.size() == b.worst.size();
  for (size_t i = 0; w && i < a.worst.size(); i++) w = a.worst[i].index == b.worst[i].index && a.worst[i].cls == b.worst[i].cls && same(a.worst[i].dev, b.worst[i].dev);
  ok &= f(w, "worst");
  return ok;
}

}  // namespace ql
