#include "grid.hpp"
#include "byCodeBins.hpp"
#include "detmath.hpp"
#include <algorithm>
#include <cstring>
#include <exception>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace ql {

void insertWorst(std::vector<Worst>& list, const Worst& w, int k) {
  if (k <= 0) return;
  if ((int)list.size() == k && !worseThan(w, list.back())) return;
  auto pos = std::upper_bound(list.begin(), list.end(), w, worseThan);
  list.insert(pos, w);
  if ((int)list.size() > k) list.pop_back();
}

void addCodes(GridAcc& acc, const uint64_t* hist, int qmin, int bins, const OutOfRangeCodes& oor, uint64_t finite) {
  if ((int)acc.codeHist.size() < bins) acc.codeHist.resize(bins, 0);
  double sumQ = oor.sum, sumQ2 = oor.sum2;
  int lowBin = -1, highBin = -1;
  for (int b = 0; b < bins; b++) {
    const uint64_t cnt = hist[b];
    if (!cnt) continue;
    acc.codeHist[b] += cnt;
    const double q = (double)(qmin + b);
    sumQ += (double)cnt * q; sumQ2 += (double)cnt * q * q;
    if (lowBin < 0) lowBin = b;
    highBin = b;
  }
  acc.n += finite;
  acc.outOfRange += oor.lo + oor.hi;
  acc.satPos += hist[bins - 1] + oor.hi;
  acc.satNeg += hist[0] + oor.lo;
  acc.sumQ += sumQ; acc.sumQ2 += sumQ2;
  if (finite) {
    const double lo = oor.lo ? oor.min : lowBin >= 0 ? (double)(qmin + lowBin) : oor.min;
    const double hi = oor.hi ? oor.max : highBin >= 0 ? (double)(qmin + highBin) : oor.max;
    acc.qMin = acc.any ? std::min(acc.qMin, lo) : lo;
    acc.qMax = acc.any ? std::max(acc.qMax, hi) : hi;
    acc.any = true;
  }
}

// Branch-free over the codes so that it vectorizes: per-channel rows derive it every few thousand elements.
QL_CPU_CLONES
void gridPointDeviations(int qmin, int bins, float s, int32_t zp, std::vector<float>& dev) {
  dev.resize(bins);
  float* out = dev.data();
  for (int b = 0; b < bins; b++) {
    float d = 0.0f;
    const bool on = gridPointDeviation(qmin + b, s, zp, d);
    out[b] = on ? d : -1.0f;  // -1: the code has no grid point
  }
}

std::vector<float> gridPointDeviations(int qmin, int bins, float s, int32_t zp) {
  std::vector<float> dev;
  gridPointDeviations(qmin, bins, s, zp, dev);
  return dev;
}

// The body of addOnGridCounts for either width of counts: per-channel rows fold here every few
// thousand elements, so this runs once per row, in loops without data-dependent branches or stores,
// each of one element type (mixed with the 64-bit counts, the float tests did not vectorize). The
// deviation histogram is not incremented bin by bin (consecutive codes mostly share a bin: a chain
// of dependent read-modify-writes) but derived from the counts above each bin, masked sums, for the
// bins up to the highest any code reaches (a grid's codes reach a few: no count lies above them).
// Sums in Count: the caller's counts total below its range.
template <typename Count>
__attribute__((always_inline)) inline void addOnGridCountsOf(GridAcc& acc, const Count* counts, const float* codeDev, int bins, float tolerance) {
  constexpr int kChunk = 1024;  // codes at a time, so that the scratch stays in L1
  using SignedCount = std::make_signed_t<Count>;
  alignas(64) SignedCount binOf[kChunk];  // as wide as the counts: a loop mixing widths stayed scalar
  alignas(64) Count flagsOf[kChunk], devBits[kChunk];
  uint64_t all = 0, offTol = 0, above[kDevBins - 1] = {};
  Count flags = 0, maxBits = floatBits(acc.maxDev);
  for (int b0 = 0; b0 < bins; b0 += kChunk) {
    const int n = std::min(kChunk, bins - b0);
    const Count* cnt = counts + b0;
    const float* dev = codeDev + b0;
    SignedCount topBin = 0;
    for (int b = 0; b < n; b++) {
      binOf[b] = (SignedCount)devBin(dev[b]);
      topBin = std::max(topBin, binOf[b]);
      flagsOf[b] = (Count)(dev[b] > tolerance) | (Count)(dev[b] < 0.0f) << 1;  // 2: the code has no grid point
      devBits[b] = dev[b] > 0.0f ? (Count)floatBits(dev[b]) : 0u;  // non-negative floats order as their bits
    }
    Count chunkAll = 0, chunkOffTol = 0;
    for (int b = 0; b < n; b++) {
      const Count some = (Count)-(SignedCount)(cnt[b] != 0);  // masks, not selects: a select here reads as a conditional load
      chunkAll += cnt[b];
      chunkOffTol += cnt[b] & (Count)-(SignedCount)(flagsOf[b] & 1);
      flags |= flagsOf[b] & some;
      maxBits = std::max(maxBits, devBits[b] & some);
    }
    all += chunkAll; offTol += chunkOffTol;
    for (int j = 0; j < (int)topBin; j++) {
      Count sum = 0;
      for (int b = 0; b < n; b++) sum += binOf[b] > j ? cnt[b] : 0;
      above[j] += sum;
    }
  }
  if (flags & 2) throw std::logic_error("verify: an on-grid count for a code that has no grid point");
  acc.devHist[0] += all - above[0];
  for (int j = 1; j < kDevBins - 1; j++) acc.devHist[j] += above[j - 1] - above[j];
  acc.devHist[kDevBins - 1] += above[kDevBins - 2];
  acc.offTol += offTol;
  acc.artifacts += above[0];  // bin 0 holds exactly the zero deviations
  acc.maxDev = bitsToFloat((uint32_t)maxBits);
}

QL_CPU_CLONES
void addOnGridCounts(GridAcc& acc, const uint64_t* counts, const float* codeDev, int bins, float tolerance) {
  addOnGridCountsOf(acc, counts, codeDev, bins, tolerance);
}

namespace {
// 32-bit counts, eight to a vector: verifyRunByCode's runs of up to 2^20 elements.
QL_CPU_CLONES
void addOnGridCounts(GridAcc& acc, const uint32_t* counts, const float* codeDev, int bins, float tolerance) {
  addOnGridCountsOf(acc, counts, codeDev, bins, tolerance);
}
}  // namespace

void GridAcc::merge(const GridAcc& o, int worstK) {
  n += o.n; nan += o.nan; inf += o.inf; offTol += o.offTol; artifacts += o.artifacts; offGrid += o.offGrid;
  outOfRange += o.outOfRange; satPos += o.satPos; satNeg += o.satNeg; sumQ += o.sumQ; sumQ2 += o.sumQ2;
  if (o.any) {
    qMin = any ? std::min(qMin, o.qMin) : o.qMin;
    qMax = any ? std::max(qMax, o.qMax) : o.qMax;
    any = true;
  }
  maxDev = std::max(maxDev, o.maxDev);
  maxRecon = std::max(maxRecon, o.maxRecon);
  for (int i = 0; i < kDevBins; i++) devHist[i] += o.devHist[i];
  if (codeHist.size() < o.codeHist.size()) codeHist.resize(o.codeHist.size(), 0);
  for (size_t i = 0; i < o.codeHist.size(); i++) codeHist[i] += o.codeHist[i];
  for (const Worst& w : o.worst) insertWorst(worst, w, worstK);
}

namespace {

// What one verifyRange call accumulates before folding into a GridAcc. The code and deviation
// histograms are split four ways by element index: consecutive elements usually fall in the same
// bin, and one counter incremented per element is a chain of dependent read-modify-writes.
// Sums of q, saturation and the code range come from the histogram at the end; the out-of-range
// elements, which it does not hold, are accumulated on their own (rare).
struct RangeState {
  std::vector<uint64_t> hist4;  // 4 x bins, then 4 spare slots
  uint64_t devHist4[4][kDevBins] = {};
  uint64_t fin = 0, offTol = 0, art = 0, off = 0;
  uint32_t maxDevBits = 0, maxReconBits = 0;  // non-negative floats order as their bits
  OutOfRangeCodes oor;
  uint32_t thrShort = 1;  // candidates for the worst list have a short key at least this
  // Scratch of verifyRunByCode, kept across the runs of a per-channel tensor.
  std::vector<uint64_t> plainCounts;  // bins + 1 counts of plain elements by code; the last is the spare
  std::vector<uint32_t> plainCounts32;  // the same for a run that folds once
  std::vector<float> codeDev;    // a plain element's deviation, by code (gridPointDeviations)
  std::vector<uint32_t> codeKey; // its short key for the worst list (0: exact, never a candidate)
  std::vector<uint8_t> visit;    // per code: 2 offers its elements to the worst list
  std::vector<int32_t> marked;   // the codes whose visit is 2
  std::vector<uint32_t> counts4; // per-block counts, four interleaved histograms
};

// Never decreases when the worst-list rank increases (tier in the top two bits, then the
// deviation's bits without the lowest): a cheap, conservative pre-filter; worseThan decides.
inline uint32_t shortKey(uint32_t tier, float dev) { return tier << 30 | floatBits(dev) >> 1; }
// The pre-filter threshold once the list is full: the short key of its last (least bad) entry.
inline uint32_t thresholdOf(const Worst& last) {
  return std::max<uint32_t>(1u, shortKey(last.cls == kNonFinite ? 3u : last.cls == kOffGrid ? 2u : 1u, last.dev));
}

}  // namespace

// The arithmetic here must be IEEE single precision with no contraction (the build passes
// -ffp-contract=off): fl32(x/s), rint (round half to even), fl32(q*s) are the definitions.
// Classifies and counts the m <= kBlock elements xb[0..m), the i-th of which has flat index
// first + (offs ? offs[i] : i): a branch-free pass (vectorized by the compiler) classifies every
// element and counts the common cases; a second pass does what needs memory per element (the
// histograms) and the rare cases (non-finite, out of range, worst-list candidates).
// Compiled once per instruction set (QL_CPU_CLONES), picked at load time.
constexpr int kBlock = 1024;
QL_CPU_CLONES
static void verifyBlock(const float* xb, int m, int64_t first, const int32_t* offs, float s, int32_t zp, const GridParams& p, GridAcc& acc, RangeState& st) {
  const int bins = p.qmax - p.qmin + 1;
  const float tol = p.tolerance, fzp = (float)zp, fqmin = (float)p.qmin, fqmax = (float)p.qmax;
  constexpr int B = kBlock;
  alignas(64) float qv[B], dv[B];
  alignas(64) uint32_t skey[B];
  alignas(64) uint8_t cls[B];
  alignas(64) int32_t db[B];
  {
    uint32_t fin = 0, offTol = 0, art = 0, off = 0, maxDevBits = st.maxDevBits, maxReconBits = st.maxReconBits;
    // Three straight-line loops the compiler vectorizes: classify, then count, then key.
    alignas(64) float rv[B];
    if (p.inputIsCodes) {
      for (int i = 0; i < m; i++) { qv[i] = xb[i]; dv[i] = 0.0f; rv[i] = 0.0f; cls[i] = xb[i] - xb[i] == 0.0f ? kExact : kNonFinite; }
    } else {
      for (int i = 0; i < m; i++) {
        const float v = xb[i];
        const float r = v / s;
        const float qr = rintDet(r);
        const float d = __builtin_fabsf(r - qr);
        const float back = roundToStorage(qr * s, p.storage);
        const bool finite = v - v == 0.0f;
        qv[i] = qr + fzp;
        dv[i] = finite ? d : 0.0f;
        rv[i] = finite ? __builtin_fabsf(back - v) : 0.0f;
        cls[i] = !finite ? kNonFinite : back == v ? (d == 0.0f ? kExact : kFp32Artifact) : kOffGrid;
      }
    }
    for (int i = 0; i < m; i++) db[i] = devBin(dv[i]);
    for (int i = 0; i < m; i++) {
      const float d = dv[i];
      const uint8_t c = cls[i];
      fin += c != kNonFinite;
      offTol += d > tol;
      art += c == kFp32Artifact;
      off += c == kOffGrid;
    }
    // Maxima on the bits (non-negative floats order as their bits), in a loop of their own: mixed
    // with the counts above, the compiler vectorizes neither. A quotient that overflows gives a
    // NaN deviation: off the grid, in no maximum (as before), in the top deviation bin.
    for (int i = 0; i < m; i++) {
      const float d = dv[i];
      const uint32_t bd = d == d ? floatBits(d) : 0u, br = floatBits(rv[i]);
      maxDevBits = bd > maxDevBits ? bd : maxDevBits;
      maxReconBits = br > maxReconBits ? br : maxReconBits;
    }
    for (int i = 0; i < m; i++) {
      const uint8_t c = cls[i];
      const uint32_t tier = c == kNonFinite ? 3u : c == kOffGrid ? 2u : c == kFp32Artifact ? 1u : 0u;
      skey[i] = tier ? shortKey(tier, dv[i]) : 0u;
    }
    st.fin += fin; st.offTol += offTol; st.art += art; st.off += off; st.maxDevBits = maxDevBits; st.maxReconBits = maxReconBits;
    // In range or not is decided with selects, not a branch: the elements verifyRunByCode gathers
    // here mix both about evenly in dumps scaled too finely. Out-of-range codes go to a spare slot
    // per lane and are listed for the loop after this one.
    // (GCC turns a plain select between the two slots into a branch, hence the masks.)
    alignas(64) int32_t outs[B];
    int nOut = 0;
    uint64_t* hist = st.hist4.data();
    for (int i = 0; i < m; i++) {
      const uint8_t c = cls[i];
      const int lane = i & 3;
      if (c == kNonFinite) {
        if (xb[i] != xb[i]) acc.nan++; else acc.inf++;
      } else {
        st.devHist4[lane][db[i]]++;
        const float q = qv[i];  // integer-valued or +-inf (an overflowing quotient), never NaN
        const bool in = q >= fqmin && q <= fqmax;
        const int32_t code = (int32_t)(std::min(std::max(q, fqmin), fqmax) - fqmin);
        const int32_t inSlot = lane * bins + code, outSlot = 4 * bins + lane;
        hist[outSlot ^ ((inSlot ^ outSlot) & -(int32_t)in)]++;
        outs[nOut] = i; nOut += !in;
      }
      if (skey[i] >= st.thrShort && p.worstK > 0) {
        const int64_t index = first + (offs ? offs[i] : i);
        const Worst w = c == kNonFinite ? Worst{index, xb[i], 0.0f, 0.0f, kNonFinite} : Worst{index, xb[i], qv[i], dv[i], c};
        if ((int)acc.worst.size() < p.worstK || worseThan(w, acc.worst.back())) {
          insertWorst(acc.worst, w, p.worstK);
          if ((int)acc.worst.size() == p.worstK) st.thrShort = thresholdOf(acc.worst.back());
        }
      }
    }
    // Out-of-range codes, in element order (their sums are integer-valued, so exact, or infinite).
    OutOfRangeCodes& o = st.oor;
    for (int k = 0; k < nOut; k++) {
      const float q = qv[outs[k]];
      const double qd = q;
      if (o.lo + o.hi == 0) o.min = o.max = qd;
      o.min = qd < o.min ? qd : o.min;
      o.max = qd > o.max ? qd : o.max;
      o.lo += q < fqmin;
      o.hi += !(q < fqmin);
      o.sum += qd; o.sum2 += qd * qd;
    }
  }
}

static void verifyRun(const float* x, int64_t n, int64_t start, float s, int32_t zp, const GridParams& p, GridAcc& acc, RangeState& st) {
  for (int64_t base = 0; base < n; base += kBlock) verifyBlock(x + base, (int)std::min<int64_t>(kBlock, n - base), start + base, nullptr, s, zp, p, acc, st);
}

// A plain element (on the grid, code in range: counted by verifyRunByCode) whose code's key could
// enter the worst list: offered to it, as verifyBlock would. Its code and deviation are its bin's.
static void offerPlain(float v, int64_t index, int bin, const GridParams& p, GridAcc& acc, RangeState& st) {
  const float d = st.codeDev[bin];
  if (st.codeKey[bin] < st.thrShort) return;  // the key of an exact code is 0, below any threshold
  const Worst w{index, v, (float)(p.qmin + bin), d, kFp32Artifact};
  if ((int)acc.worst.size() < p.worstK || worseThan(w, acc.worst.back())) {
    insertWorst(acc.worst, w, p.worstK);
    if ((int)acc.worst.size() == p.worstK) st.thrShort = thresholdOf(acc.worst.back());
  }
}

// Whether verifyRunByCode can take a run with this scale's zero point: codes and zero points small
// enough that qr + zp is exact in FP32 (so an element's code determines its qr), a code histogram
// of bounded size, and float data (integer codes have their own, trivial, path).
static bool byCodeApplies(const GridParams& p, int32_t zp) {
  return !p.inputIsCodes && p.qmax - p.qmin < 4096 && zp >= -(1 << 20) && zp <= (1 << 20);
}

// The same verification as verifyRun, organised around what dumps hold: elements on the grid of s
// whose code is in range ("plain" elements). A plain element equals fl32((c - zp)·s) for its code c,
// so its deviation, class, tolerance test and worst-list key depend on c alone
// (gridPointDeviation): such elements are only counted per code, and their statistics derived
// once per run from the counts. Per block, one pass (byCodeBins.hpp) maps each element to its code,
// or to a spare bin when it is not plain, and increments the bin's counter (four interleaved
// histograms); then the elements are listed where their bins say so: every
// non-plain element, to be gathered and verified by verifyBlock; a plain one while its code's key
// could enter the worst list.
QL_CPU_CLONES
static void verifyRunByCode(const float* x, int64_t n, int64_t start, float s, int32_t zp, const GridParams& p, GridAcc& acc, RangeState& st) {
  const int bins = p.qmax - p.qmin + 1, stride = bins + 1;
  const float fzp = (float)zp, fqmin = (float)p.qmin, fqmax = (float)p.qmax;
  // The code of a plain element is found with a multiply, not a division (the division was most of
  // the hot loop's time): an element is plain only if fl32(qr·s) == v, and for such a v with
  // |qr| < 2^21, rint(fl32(v/s)) == qr (v/s = qr(1+δ)(1+ε), |δ|,|ε| <= 2^-24, so it is within 0.25
  // of qr), which is the code the definition gives. A guess that misses a plain element's code only
  // sends it to verifyBlock, which computes x/s as defined: the results are the same either way.
  // Codes far from 0 keep the division (qmin, qmax and zp are the user's). A reciprocal that
  // overflows (s below 2^-128) makes every guess inf or NaN: those elements take verifyBlock.
  const bool smallCodes = std::max(std::abs(p.qmin), std::abs(p.qmax)) + std::abs(zp) < (1 << 21);
  ByCodeGrid grid{s, 1.0f / s, (uint32_t)(zp - p.qmin), bins};  // the bin of qr = 0; |zp - qmin| < 2^22
  grid.divide = !smallCodes;
  grid.fzp = fzp; grid.fqmin = fqmin; grid.fqmax = fqmax;
  const bool avx2 = smallCodes && p.cpuPath != GridParams::CpuPath::kByCodePortable && byCodeBinsAvx2Runs();
  // A run of at most 1024 blocks (per-channel rows) folds once, into 32-bit counts: its statistics
  // then take eight codes to a vector. A longer one folds every 1024 blocks, into 64-bit counts.
  const bool oneFold = n <= (int64_t)kBlock * 1024;
  if (oneFold) st.plainCounts32.resize((size_t)stride);  // the fold assigns them
  else st.plainCounts.resize((size_t)stride);
  // Per-channel tensors run this once per channel (often a few thousand elements): the scratch is
  // reused, never reallocated.
  gridPointDeviations(p.qmin, bins, s, zp, st.codeDev);
  st.codeKey.resize(bins);
  {
    const float* dev = st.codeDev.data();
    uint32_t* key = st.codeKey.data();
    for (int b = 0; b < bins; b++) key[b] = dev[b] > 0.0f ? shortKey(1u, dev[b]) : 0u;
  }
  st.visit.resize(stride);
  st.visit[bins] = 0;  // the spare bin is never offered; markVisits sets the others
  // visit[bin]: 2 offers the element to the worst list (codes whose key reaches the threshold; refreshed when the threshold rises, which
  // only removes codes, so marks from an older threshold are merely conservative).
  uint32_t visitThr = 0;
  bool anyOffer = false;  // some code is marked to be offered: once the worst list holds worse elements, none is
  // A code is marked only if an element of it from `first` on could still enter the full list:
  // quantized dumps have few distinct deviations, so a code often only ties the list's last entry,
  // and a tie goes to the lower index (worseThan), which no later element has.
  auto markVisits = [&](int64_t first) {
    visitThr = st.thrShort;
    st.marked.clear();
    const bool full = p.worstK > 0 && (int)acc.worst.size() == p.worstK;
    // One loop over the codes that vectorizes (this runs for every channel). Not full: a code is
    // marked when its key reaches the threshold. Full: exactly when an element of it at `first` or
    // later would be worseThan the last entry. Plain elements rank as artifacts (tier 1), so that
    // takes a last entry of tier 1 with a smaller deviation, or an equal one at a higher index.
    const uint32_t* key = st.codeKey.data();
    const float* dev = st.codeDev.data();
    uint8_t* mark = st.visit.data();
    int marks = 0;
    if (!full) {
      const uint32_t thr = p.worstK > 0 ? visitThr : UINT32_MAX;  // no code's key reaches UINT32_MAX (tier 1)
      for (int b = 0; b < bins; b++) {
        const bool c = key[b] >= thr;
        mark[b] = c ? 2 : 0;
        marks += c;
      }
    } else {
      const Worst& last = acc.worst.back();
      const bool beatable = last.cls != kNonFinite && last.cls != kOffGrid, tieWins = first < last.index;  // worseThan's tiers
      const float lastDev = beatable ? last.dev : INFINITY;
      for (int b = 0; b < bins; b++) {
        const bool c = dev[b] > lastDev || (tieWins && dev[b] == lastDev);
        mark[b] = c ? 2 : 0;
        marks += c;
      }
    }
    for (int b = 0; marks && b < bins; b++) {
      if (!mark[b]) continue;
      marks--;
      st.marked.push_back(b);
    }
    anyOffer = !st.marked.empty();
  };
  markVisits(start);
  // Per-block counts in 32 bits (a block cannot overflow them), four histograms interleaved by
  // element: consecutive elements often share a code, and one counter incremented per element is a
  // chain of dependent read-modify-writes. Folded into the run's counts every 1024 blocks and after its last.
  std::vector<uint32_t>& counts4 = st.counts4;
  // Zero between runs: every run folds and clears its counts after its last block (per-channel
  // tensors run this for every row, so clearing it twice per row showed in profiles).
  if (counts4.size() != (size_t)4 * stride) counts4.assign((size_t)4 * stride, 0);
  uint32_t* h0 = counts4.data();
  uint32_t* h1 = h0 + stride;
  uint32_t* h2 = h1 + stride;
  uint32_t* h3 = h2 + stride;
  // The block histograms into the run's counts, as wide as they need (the first fold assigns them).
  auto fold = [&](auto* total, bool first) {
    for (int b = 0; b < stride; b++) {
      const auto t = (std::remove_reference_t<decltype(*total)>)h0[b] + h1[b] + h2[b] + h3[b];
      total[b] = first ? t : total[b] + t;
      h0[b] = h1[b] = h2[b] = h3[b] = 0;
    }
  };
  // The plain elements' share, from their counts: their statistics now, their codes with the
  // others' when verifyRange folds the code histogram. One pass, as per-channel rows run this for
  // every few thousand elements.
  auto addPlain = [&](const auto* total) {
    uint64_t plain = 0;
    for (int b = 0; b < bins; b++) {
      plain += total[b];
      st.hist4[b] += total[b];
    }
    st.fin += plain;
    if (plain) addOnGridCounts(acc, total, st.codeDev.data(), bins, p.tolerance);
  };
  const uint8_t* visit = st.visit.data();
  constexpr int B = kBlock;
  alignas(64) int32_t bin[B], other[B], offer[B];
  alignas(64) uint8_t notPlainBits[B / 8];
  alignas(64) float gathered[B];
  for (int64_t base = 0; base < n; base += B) {
    const int m = (int)std::min<int64_t>(B, n - base);
    const float* xb = x + base;
    if (st.thrShort != visitThr) markVisits(start + base);
    // One pass maps the block's elements to bins and counts them (byCodeBins.hpp); the rare elements
    // that need more are listed after it. A few marked codes: their counts before and after the
    // block tell whether it holds any of them, so the block is scanned for offers only then (the
    // same offers, in the same order).
    const bool fewMarked = anyOffer && st.marked.size() <= 16;
    auto markedCount = [&] {
      uint64_t c = 0;
      for (int32_t b : st.marked) c += (uint64_t)h0[b] + h1[b] + h2[b] + h3[b];
      return c;
    };
    const uint64_t markedBefore = fewMarked ? markedCount() : 0;
    const int notPlain = avx2 ? byCodeBinsAvx2(xb, m, grid, bin, notPlainBits, h0, stride) : byCodeBinsPortable(xb, m, grid, bin, notPlainBits, h0, stride);
    const bool scanOffers = anyOffer && (!fewMarked || markedCount() != markedBefore);
    int nOther = 0, nOffer = 0;
    if (notPlain) {
      // Non-plain elements are rare (an off-grid value every thousand elements is already many):
      // listed from their flag bits, eight elements a byte.
      for (int k0 = 0; k0 < m; k0 += 8)
        for (unsigned bits = notPlainBits[k0 >> 3]; bits; bits &= bits - 1) other[nOther++] = k0 + __builtin_ctz(bits);
    }
    if (scanOffers) {
      for (int k = 0; k < m; k++) { offer[nOffer] = k; nOffer += visit[bin[k]] >> 1; }
    }
    for (int k = 0; k < nOffer; k++) offerPlain(xb[offer[k]], start + base + offer[k], bin[offer[k]], p, acc, st);
    if (nOther) {
      for (int k = 0; k < nOther; k++) gathered[k] = xb[other[k]];
      verifyBlock(gathered, nOther, start + base, other, s, zp, p, acc, st);
    }
    if (base + B >= n || ((base / B) & 1023) == 1023) {  // fold before 2^32 (every 1024 blocks) and at the end
      const bool first = base < (int64_t)B * 1024;
      if (oneFold) fold(st.plainCounts32.data(), first);
      else fold(st.plainCounts.data(), first);
    }
  }
  if (oneFold) addPlain(st.plainCounts32.data());
  else addPlain(st.plainCounts.data());
}

void verifyRange(const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& acc) {
  const int bins = p.qmax - p.qmin + 1;
  RangeState st;
  st.hist4.assign((size_t)4 * bins + 4, 0);  // four interleaved code histograms, then a spare slot per lane
  if (p.worstK > 0 && (int)acc.worst.size() == p.worstK) st.thrShort = thresholdOf(acc.worst.back());
  // Counting by code pays once a run is long enough to amortize deriving each code's statistics.
  auto run = [&](const float* xs, int64_t len, int64_t first, float s, int32_t zp) {
    const bool byCode = p.cpuPath == GridParams::CpuPath::kByCode || p.cpuPath == GridParams::CpuPath::kByCodePortable || (p.cpuPath == GridParams::CpuPath::kAuto && len >= 16 * (int64_t)bins);
    // Counting by code derives each code's FP32 reconstruction: only for grids stored in FP32.
    if (byCode && p.storage == kStorageF32 && byCodeApplies(p, zp)) verifyRunByCode(xs, len, first, s, zp, p, acc, st);
    else verifyRun(xs, len, first, s, zp, p, acc, st);
  };
  const int64_t channels = (int64_t)p.scales.size();
  if (channels <= 1) {
    run(x, n, start, p.scales.empty() ? 1.0f : p.scales[0], p.zeroPoints.empty() ? 0 : p.zeroPoints[0]);
  } else {
    // Per channel: walk runs of constant channel so the inner loop sees one scale.
    int64_t i = 0;
    while (i < n) {
      const int64_t flat = start + i;
      const int64_t c = (flat / p.inner) % channels;
      const int64_t runEnd = std::min<int64_t>(n, (flat / p.inner + 1) * p.inner - start);
      run(x + i, runEnd - i, flat, p.scales[c], p.zeroPoints[c]);
      i = runEnd;
    }
  }
  // Fold into acc: the four histograms into the first, then the codes' share (sums of q,
  // saturation, range) as the CUDA kernel's results are folded.
  for (int b = 0; b < bins; b++) st.hist4[b] += st.hist4[bins + b] + st.hist4[2 * (size_t)bins + b] + st.hist4[3 * (size_t)bins + b];
  addCodes(acc, st.hist4.data(), p.qmin, bins, st.oor, st.fin);
  for (int k = 0; k < kDevBins; k++) acc.devHist[k] += st.devHist4[0][k] + st.devHist4[1][k] + st.devHist4[2][k] + st.devHist4[3][k];
  acc.offTol += st.offTol; acc.artifacts += st.art; acc.offGrid += st.off;
  acc.maxDev = std::max(acc.maxDev, bitsToFloat(st.maxDevBits));
  acc.maxRecon = std::max(acc.maxRecon, bitsToFloat(st.maxReconBits));
}

void forEachSlice(int64_t n, int threads, int worstK, GridAcc& acc, const std::function<void(int64_t, int64_t, GridAcc&)>& slice) {
  const int64_t minPerThread = 1 << 16;
  const int t = std::max(1, std::min<int>(threads, (int)((n + minPerThread - 1) / minPerThread)));
  if (t == 1) { slice(0, n, acc); return; }
  std::vector<GridAcc> parts(t);
  std::vector<std::exception_ptr> errors(t);
  std::vector<std::thread> pool;
  const int64_t per = (n + t - 1) / t;
  for (int k = 0; k < t; k++) {
    const int64_t b = k * per, e = std::min(n, b + per);
    pool.emplace_back([&, k, b, e] {
      try { if (b < e) slice(b, e, parts[k]); } catch (...) { errors[k] = std::current_exception(); }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& err : errors) if (err) std::rethrow_exception(err);
  for (auto& part : parts) acc.merge(part, worstK);
}

void verifyParallel(const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& acc, int threads) {
  forEachSlice(n, threads, p.worstK, acc, [&](int64_t b, int64_t e, GridAcc& part) { verifyRange(x + b, e - b, start + b, p, part); });
}

}  // namespace ql
