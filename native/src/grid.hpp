// INT8-grid verification: one fused pass per element computes the deviation, the exact
// membership test x == fl32(q*s), range, saturation, histograms and the worst elements.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>
#include "detmath.hpp"

namespace ql {

enum ElementClass : uint8_t { kExact = 0, kFp32Artifact = 1, kOffGrid = 2, kNonFinite = 3 };

struct GridParams {
  std::vector<float> scales;        // one (per tensor) or one per channel
  std::vector<int32_t> zeroPoints;  // same length as scales
  int64_t inner = 1;                // elements per channel run (product of dims after the axis)
  int qmin = -128, qmax = 127;
  float tolerance = 1e-5f;
  int worstK = 10;
  bool inputIsCodes = false;        // values are already integer codes (int8 tensors): range checks only
  uint8_t storage = 0;              // kStorageF32/BF16/F16 (detmath.hpp): the dtype grid values are stored in
  // Which CPU kernel verifies a run of elements with one scale. All give identical results; the
  // tests and the fuzzer compare them. kAuto counts on-grid elements by code where that pays;
  // kByCodePortable is the by-code kernel without its AVX2 loop (byCodeBins.hpp).
  enum class CpuPath : uint8_t { kAuto, kPerElement, kByCode, kByCodePortable } cpuPath = CpuPath::kAuto;
};

struct Worst {
  int64_t index;
  float value, q, dev;
  uint8_t cls;
};

constexpr int kDevBins = 9;  // 0, (0,1e-7], (1e-7,1e-6], ..., (1e-2,0.1], (0.1,0.5]

struct GridAcc {
  uint64_t n = 0, nan = 0, inf = 0, offTol = 0, artifacts = 0, offGrid = 0, outOfRange = 0, satPos = 0, satNeg = 0;
  double sumQ = 0, sumQ2 = 0;
  double qMin = 0, qMax = 0;
  bool any = false;
  float maxDev = 0, maxRecon = 0;
  uint64_t devHist[kDevBins] = {};
  std::vector<uint64_t> codeHist;  // qmax - qmin + 1 bins; out-of-range codes are not binned
  std::vector<Worst> worst;        // sorted best-first, at most worstK
  void merge(const GridAcc& o, int worstK);
};

// Ranking of elements for the "worst" list: true off-grid first, then by deviation, then lower index.
inline bool worseThan(const Worst& a, const Worst& b) {
  const int ra = a.cls == kNonFinite ? 3 : a.cls == kOffGrid ? 2 : 1;
  const int rb = b.cls == kNonFinite ? 3 : b.cls == kOffGrid ? 2 : 1;
  if (ra != rb) return ra > rb;
  if (a.dev != b.dev) return a.dev > b.dev;
  return a.index < b.index;
}

void insertWorst(std::vector<Worst>& list, const Worst& w, int k);

// Finite elements whose code falls outside [qmin, qmax]: the code histogram does not hold them.
struct OutOfRangeCodes { uint64_t lo = 0, hi = 0; double sum = 0, sum2 = 0, min = 0, max = 0; };

// Adds `finite` finite elements to acc from their code histogram (`bins` counts, the first for
// qmin) and their out-of-range codes: the count, the histogram, the sums of q (integer-valued:
// exact in double in any order), saturation and the code range. The CPU and CUDA kernels both
// count codes this way, so their results agree by construction.
void addCodes(GridAcc& acc, const uint64_t* hist, int qmin, int bins, const OutOfRangeCodes& oor, uint64_t finite);
// Deviation histogram bin, shared by the CPU and CUDA kernels so their histograms agree: 0 for a
// zero deviation, else 1 + the decade (1e-7, 1e-6, ..., 1e-1 bounds, upper bound inclusive; NaN,
// from an overflowing quotient, counts as the top bin). Two branch-free formulations, each where it
// compiles best; kernel_test checks that they agree. On the GPU a three-level search with selects
// (a chain of comparisons compiled into divergent branches there); on the CPU a count of the bounds
// exceeded, which vectorizes (GCC turned the selects of the search into branches).
QL_HD int devBinSearch(float dev) {
  const bool a1 = !(dev <= 1e-4f);
  const bool a2 = !(dev <= (a1 ? 1e-2f : 1e-6f));
  const bool a3 = !(dev <= (a1 ? (a2 ? 1e-1f : 1e-3f) : (a2 ? 1e-5f : 1e-7f)));
  return (1 + 4 * (int)a1 + 2 * (int)a2 + (int)a3) & -(int)(dev != 0.0f);
}
QL_HD int devBinCount(float dev) {
  return (int)(dev != 0.0f) + (int)!(dev <= 1e-7f) + (int)!(dev <= 1e-6f) + (int)!(dev <= 1e-5f) + (int)!(dev <= 1e-4f) +
         (int)!(dev <= 1e-3f) + (int)!(dev <= 1e-2f) + (int)!(dev <= 1e-1f);
}
QL_HD int devBin(float dev) {
#if defined(__CUDA_ARCH__)
  return devBinSearch(dev);
#else
  return devBinCount(dev);
#endif
}

// The deviation of an element equal to the grid point of `code` (x = fl32((code - zp) * s)), as the
// kernels compute it; false when no element can be on the grid with that code (rint(fl32(x/s)) is
// another code, or x overflows). An on-grid element's statistics depend on its code alone, which
// lets the CUDA kernel count such elements per code and derive the rest from this. IEEE operations
// only (no FMA contraction on either side), so the host and the GPU compute the same.
QL_HD bool gridPointDeviation(int code, float s, int32_t zp, float& dev) {
  const float qr = (float)(code - zp);  // exact, and qr + zp == code in FP32: codes and zero points are far below 2^24
  const float x = qr * s;
  const float r = x / s;
  if (!(x - x == 0.0f) || rintDet(r) != qr) return false;
  dev = r < qr ? qr - r : r - qr;
  return true;
}

// Each code's grid-point deviation (gridPointDeviation) for the codes qmin .. qmin + bins - 1,
// -1 where a code has no grid point.
std::vector<float> gridPointDeviations(int qmin, int bins, float s, int32_t zp);
void gridPointDeviations(int qmin, int bins, float s, int32_t zp, std::vector<float>& dev);  // into dev, reusing its storage
// Adds elements on the grid counted by code (counts[b] elements of code qmin + b, whose deviation is
// codeDev[b] from gridPointDeviations): their deviation bins, tolerance and artifact counts and the
// largest deviation (their reconstruction error is 0). Their count, code histogram and sums of q go
// through addCodes. The CPU's by-code kernel and the CUDA on-grid pass both fold their counts here.
void addOnGridCounts(GridAcc& acc, const uint64_t* counts, const float* codeDev, int bins, float tolerance);

// Verifies x[0..n) whose first element has flat index `start` in the tensor.
void verifyRange(const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& acc);

// Splits [0, n) into contiguous slices, one per thread (at least 64K elements each), runs
// slice(b, e, part) on each and merges the parts in slice order; an exception in any slice is
// rethrown once all have joined. One slice runs on the calling thread straight into acc.
void forEachSlice(int64_t n, int threads, int worstK, GridAcc& acc, const std::function<void(int64_t, int64_t, GridAcc&)>& slice);

// Multi-threaded: splits [0, n) into contiguous slices, merges per-thread results in order.
void verifyParallel(const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& acc, int threads);

}  // namespace ql
