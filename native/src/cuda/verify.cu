// INT8-grid verification on the GPU: one fused pass (float4 loads, counters in registers, per-warp
// code histograms and worst lists), then a small finalize kernel. Results are identical to grid.cpp's.
#include "common.cuh"
#include "division.cuh"

namespace ql {

namespace {
constexpr int kWarps = 8;         // 256 threads per block
constexpr int kMaxFusedK = 32;    // worst lists up to a warp's width are kept in registers
constexpr int kSharedBins = 1024; // wider integer ranges count straight into global memory

struct KParams {
  const float* scales; const int32_t* zps; int channels; long long inner; long long start;
  int qmin, qmax; float tol; bool codes;
  // Per-tensor fast path: the scale, its zero point and RN(1/s) for the division below.
  float s, inv, fzp; bool fastDiv;
};

// Per-element classification: identical arithmetic to grid.cpp.
struct Elem { float q, dev, recon; uint8_t cls; bool finite; };

__device__ __forceinline__ Elem classifyWith(float v, float s, float inv, float fzp, bool fast, bool codes) {
  Elem e;
  e.finite = fabsf(v) < INFINITY;  // false for NaN too
  if (codes) {
    e.q = e.finite ? v : 0.0f; e.dev = 0; e.recon = 0; e.cls = e.finite ? kExact : kNonFinite;
    return e;
  }
  // Computed for every input and selected afterwards: branches here diverge within a warp.
  const float r = divRN(v, s, inv, fast);
  const float qr = rintf(r);
  const float dev = fabsf(__fsub_rn(r, qr));
  const float back = __fmul_rn(qr, s);
  e.dev = e.finite ? dev : 0.0f;
  e.recon = e.finite ? fabsf(__fsub_rn(back, v)) : 0.0f;
  e.cls = !e.finite ? kNonFinite : back == v ? (dev == 0.0f ? kExact : kFp32Artifact) : kOffGrid;
  e.q = e.finite ? __fadd_rn(qr, fzp) : 0.0f;
  return e;
}

__device__ __forceinline__ Elem classify(float v, long long flat, const KParams& p) {
  if (p.channels <= 1) return classifyWith(v, p.s, p.inv, p.fzp, p.fastDiv, p.codes);
  const int c = (int)((flat / p.inner) % p.channels);
  return classifyWith(v, p.scales[c], 0.0f, (float)p.zps[c], false, p.codes);
}

// The worst list's class tier of an element (worseThan in grid.hpp): non-finite, off the grid, on it
// with a nonzero deviation (an FP32 artifact), exact; rankKey's tier.
__device__ __forceinline__ unsigned rankTier(bool finite, bool offGrid, float dev) {
  return !finite ? 3u : offGrid ? 2u : dev != 0.0f ? 1u : 0u;
}

// Ranking key for the worst list: class tier above deviation (worseThan in grid.hpp). Tier 0
// (exact, zero deviation) never enters the list.
__device__ __forceinline__ unsigned long long rankKey(const Elem& e) {
  // An on-grid element's deviation is nonzero exactly when it is an FP32 artifact (classifyWith), so
  // the tier is the dense paths' rankTier.
  const unsigned tier = rankTier(e.finite, e.cls == kOffGrid, e.dev);
  return ((unsigned long long)tier << 32) | (unsigned)__float_as_int(e.dev);
}

// ---- worst list kept by one warp: lane l holds the l-th worst element seen (l < K) ---------------

struct Entry { unsigned long long key; long long idx; float value, q; };
__device__ __forceinline__ Entry emptyEntry() { return Entry{0ull, -1ll, 0.0f, 0.0f}; }
// Worse ranks first: higher key, then lower index (never true against an empty entry's (0, -1)).
__device__ __forceinline__ bool ranksAbove(unsigned long long ka, long long ia, unsigned long long kb, long long ib) {
  return ka > kb || (ka == kb && ia < ib);
}
// Keeps in (k, i) whichever of it and (ok, oi) ranks above.
__device__ __forceinline__ void keepAbove(unsigned long long& k, long long& i, unsigned long long ok, long long oi) {
  if (ranksAbove(ok, oi, k, i)) { k = ok; i = oi; }
}
__device__ __forceinline__ Entry shflEntry(const Entry& e, int src) {
  return Entry{__shfl_sync(kFull, e.key, src), __shfl_sync(kFull, e.idx, src), __shfl_sync(kFull, e.value, src), __shfl_sync(kFull, e.q, src)};
}

struct WarpList {
  Entry mine = emptyEntry();
  unsigned long long thrKey = 0; long long thrIdx = -1;  // the K-th entry: a candidate must rank above it

  // Offers each flagged lane's entry to the list. Warp-uniform: every lane calls it.
  __device__ __forceinline__ void offer(bool flagged, const Entry& e, int K, int lane) {
    unsigned m = __ballot_sync(kFull, flagged);
    while (m) {
      const int src = __ffs(m) - 1;
      m &= m - 1;
      const Entry c = shflEntry(e, src);
      if (!ranksAbove(c.key, c.idx, thrKey, thrIdx)) continue;
      const unsigned ahead = __popc(__ballot_sync(kFull, lane < K && ranksAbove(mine.key, mine.idx, c.key, c.idx)));
      const Entry up{__shfl_up_sync(kFull, mine.key, 1), __shfl_up_sync(kFull, mine.idx, 1),
                     __shfl_up_sync(kFull, mine.value, 1), __shfl_up_sync(kFull, mine.q, 1)};
      if (lane == (int)ahead) mine = c;
      else if (lane > (int)ahead && lane < K) mine = up;
      thrKey = __shfl_sync(kFull, mine.key, K - 1);
      thrIdx = __shfl_sync(kFull, mine.idx, K - 1);
    }
  }
};

// One block's partial results; finalizeKernel reduces them. The finite count, the sums of q and
// the saturation counts come from the code histogram plus the out-of-range elements.
struct Part {
  unsigned long long nan, inf, offTol, artifacts, offGrid, oorLo, oorHi;
  unsigned long long devHist[kDevBins];
  double oorSum, oorSum2;
  float oorMin, oorMax, maxDev, maxRecon;
};

__device__ void combine(Part& a, const Part& b) {
  a.nan += b.nan; a.inf += b.inf; a.offTol += b.offTol; a.artifacts += b.artifacts; a.offGrid += b.offGrid;
  a.oorLo += b.oorLo; a.oorHi += b.oorHi;
  for (int k = 0; k < kDevBins; k++) a.devHist[k] += b.devHist[k];
  a.oorSum += b.oorSum; a.oorSum2 += b.oorSum2;  // integer-valued: exact in any order
  a.oorMin = fminf(a.oorMin, b.oorMin); a.oorMax = fmaxf(a.oorMax, b.oorMax);
  a.maxDev = fmaxf(a.maxDev, b.maxDev); a.maxRecon = fmaxf(a.maxRecon, b.maxRecon);
}

__device__ Part emptyPart() {
  Part p{};
  p.oorMin = INFINITY; p.oorMax = -INFINITY;
  return p;
}

struct DevResult { Part part; Entry worst[kMaxFusedK]; };

// Per-thread counters of the common cases. The deviation histogram is packed into one 64-bit
// register, 7 bits per bin, and flushed to shared memory before any bin can reach 128.
struct ThreadAcc {
  unsigned tol = 0, art = 0, off = 0;
  float maxDev = 0, maxRecon = 0;
  unsigned long long devPacked = 0;
  double oorSum = 0, oorSum2 = 0;  // shared-memory atomics on doubles are CAS loops: keep these here
};

// Counters of the rare cases (non-finite, out of range), kept per block in shared memory so they
// cost no registers in the hot loop. 32-bit: native shared atomics (64-bit ones are CAS loops); a
// block never sees 2^32 elements.
struct RareShared {
  unsigned nan, inf, oorLo, oorHi;
  int oorMinKey, oorMaxKey;  // order-preserving int keys of float q
};

__device__ __forceinline__ int floatKey(float f) { int k = __float_as_int(f); return k >= 0 ? k : k ^ 0x7fffffff; }
__device__ __forceinline__ float keyFloat(int k) { return __int_as_float(k >= 0 ? k : k ^ 0x7fffffff); }

__device__ __forceinline__ void flushDev(unsigned long long& packed, unsigned int* devH) {
  if (!packed) return;
#pragma unroll
  for (int k = 0; k < kDevBins; k++) {
    const unsigned c = (unsigned)(packed >> (7 * k)) & 127u;
    if (c) atomicAdd(&devH[k], c);
  }
  packed = 0;
}

// Group g of four elements; elements past n read as zero (and are skipped by the caller).
__device__ __forceinline__ float4 loadGroup(const float* x, const float4* x4, long long g, long long n) {
  const long long i0 = g * 4;
  if (i0 + 3 < n) return __ldcs(x4 + g);  // streamed once: do not keep it in cache
  float4 f = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (i0 < n) f.x = x[i0];
  if (i0 + 1 < n) f.y = x[i0 + 1];
  if (i0 + 2 < n) f.z = x[i0 + 2];
  return f;
}

#ifndef QL_VERIFY_MIN_BLOCKS
#define QL_VERIFY_MIN_BLOCKS 4  // 64 registers: four blocks of 256 threads per SM
#endif

// The rare cases of one element (out of range, non-finite), for all lanes of the warp at once:
// the warp's lanes are aggregated before one shared atomic per counter.
__device__ __forceinline__ void countRare(float v, const Elem& e, bool active, const KParams& p, int lane, ThreadAcc& a, RareShared* rare) {
  const bool fin = active && e.finite;
  const bool oor = fin && !(e.q >= (float)p.qmin && e.q <= (float)p.qmax);
  if (oor) {
    const double qd = e.q;
    a.oorSum += qd; a.oorSum2 += qd * qd;  // integer-valued: exact in any order
  }
  const unsigned lo = __ballot_sync(kFull, oor && e.q < (float)p.qmin), hi = __ballot_sync(kFull, oor && !(e.q < (float)p.qmin));
  const unsigned nans = __ballot_sync(kFull, active && isnan(v)), infs = __ballot_sync(kFull, active && isinf(v));
  const int kmin = warpReduce<WarpOp::kMin>(oor ? floatKey(e.q) : 0x7fffffff), kmax = warpReduce<WarpOp::kMax>(oor ? floatKey(e.q) : (int)0x80000000);
  if (lane == 0) {
    if (lo) atomicAdd(&rare->oorLo, (unsigned)__popc(lo));
    if (hi) atomicAdd(&rare->oorHi, (unsigned)__popc(hi));
    if (nans) atomicAdd(&rare->nan, (unsigned)__popc(nans));
    if (infs) atomicAdd(&rare->inf, (unsigned)__popc(infs));
    if (lo | hi) { atomicMin(&rare->oorMinKey, kmin); atomicMax(&rare->oorMaxKey, kmax); }
  }
}

// A 32-bit key that never decreases when the worst-list rank key increases (tier in the top two
// bits, the deviation's bits below, its lowest bit dropped): a cheap pre-filter for candidates.
__device__ __forceinline__ unsigned shortKey(unsigned long long key) { return (unsigned)(key >> 32) << 30 | (unsigned)key >> 1; }

// Reduces a block's per-thread counters, rare counters, deviation counters (devH: kWarps * kDevBins)
// and the warps' worst lists into parts[blockIdx.x] and the block's worst list. Every thread calls it.
__device__ void finishBlock(const ThreadAcc& a, WarpList& wl, int K, const RareShared& rare, const unsigned* devH, Part* parts, Entry* blockWorst) {
  __shared__ Part warpParts[kWarps];
  __shared__ Entry lists[kWarps][kMaxFusedK];
  using u64 = unsigned long long;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  Part mine = emptyPart();
  mine.offTol = warpSum((u64)a.tol); mine.artifacts = warpSum((u64)a.art); mine.offGrid = warpSum((u64)a.off);
  mine.oorSum = warpSum(a.oorSum); mine.oorSum2 = warpSum(a.oorSum2);
  mine.maxDev = warpMax(a.maxDev); mine.maxRecon = warpMax(a.maxRecon);
  if (lane == 0) warpParts[warp] = mine;
  if (K > 0 && lane < K) lists[warp][lane] = wl.mine;
  __syncthreads();
  if (threadIdx.x == 0) {
    Part b = warpParts[0];
    for (int w = 1; w < kWarps; w++) combine(b, warpParts[w]);
    b.nan = rare.nan; b.inf = rare.inf; b.oorLo = rare.oorLo; b.oorHi = rare.oorHi;
    b.oorMin = keyFloat(rare.oorMinKey); b.oorMax = keyFloat(rare.oorMaxKey);
    for (int k = 0; k < kDevBins; k++) {
      unsigned long long t = 0;
      for (int w = 0; w < kWarps; w++) t += devH[w * kDevBins + k];
      b.devHist[k] = t;
    }
    parts[blockIdx.x] = b;
  }
  if (K > 0 && warp == 0) {
    for (int w = 1; w < kWarps; w++) {
      const Entry e = lane < K ? lists[w][lane] : emptyEntry();
      wl.offer(lane < K && ranksAbove(e.key, e.idx, wl.thrKey, wl.thrIdx), e, K, lane);
    }
    if (lane < K) blockWorst[(long long)blockIdx.x * K + lane] = wl.mine;
  }
}

// Adds `copies` shared code histograms (`bins` counters each, `stride` apart) into a global one.
__device__ void flushCodes(const unsigned* h, int copies, int bins, int stride, unsigned long long* global) {
  __syncthreads();
  for (int i = threadIdx.x; i < bins; i += blockDim.x) {
    unsigned long long t = 0;
    for (int w = 0; w < copies; w++) t += h[w * stride + i];
    if (t) atomicAdd(&global[i], t);
  }
}

// The whole verification in one pass over the data: every warp reads 32 float4s at a time. The
// common cases are counted in registers (and the code histogram in shared memory) by straight-line
// code; the rare ones (out of range, non-finite, a candidate for the worst list) are handled in
// warp-uniform branches that recompute the element. Each block writes one Part and its worst list.
template <bool kSharedHist, bool kFastPerTensor>
__global__ void __launch_bounds__(256, QL_VERIFY_MIN_BLOCKS) verifyKernel(const float* __restrict__ x, long long n, KParams p, int bins, int K,
                                                                         Part* parts, Entry* blockWorst, unsigned long long* globalHist) {
  extern __shared__ unsigned int sh[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  // Shared layout: kWarps * kDevBins deviation counters, then kWarps code histograms (kSharedHist).
  for (int i = threadIdx.x; i < kWarps * kDevBins + (kSharedHist ? kWarps * bins : 0); i += blockDim.x) sh[i] = 0;
  __shared__ RareShared rare;
  if (threadIdx.x == 0) rare = RareShared{0, 0, 0, 0, floatKey(INFINITY), floatKey(-INFINITY)};
  __syncthreads();
  unsigned int* myDev = sh + warp * kDevBins;
  // Shared address of this warp's counter for code 0 (sh[kWarps * kDevBins + warp * bins - qmin]).
  const unsigned histAddr = (unsigned)__cvta_generic_to_shared(sh) + 4u * (unsigned)(kWarps * kDevBins + warp * bins - p.qmin);
  const float fqmin = (float)p.qmin, fqmax = (float)p.qmax;

  ThreadAcc a;
  WarpList wl;
  unsigned thrShort = 0;  // shortKey of the K-th worst: a candidate's shortKey is at least this
  const float4* x4 = reinterpret_cast<const float4*>(x);
  const long long groups = (n + 3) / 4;
  const long long stride = (long long)gridDim.x * kWarps * 32;
  int sinceFlush = 0;
  long long base = ((long long)blockIdx.x * kWarps + warp) * 32;
  float4 next = loadGroup(x, x4, base + lane, n);
  for (; base < groups; base += stride) {
    const long long i0 = (base + lane) * 4;
    const float4 f = next;
    next = loadGroup(x, x4, base + stride + lane, n);  // in flight while this group is classified
    const float v[4] = {f.x, f.y, f.z, f.w};
    const int left = (int)min(n - i0, 4ll);  // elements of this lane's group that exist: 4 except at the end
    unsigned rareMask = 0, candMask = 0;
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const bool active = j < left;
      bool inRange, fin;
      float q, dev, recon;
      unsigned tier;
      if constexpr (kFastPerTensor) {
        // classifyWith's arithmetic, without its selects: a non-finite input's NaN deviation and
        // reconstruction error vanish in fmaxf, and its NaN q fails the range test.
        // divRN, with its rare fallback as a warp-uniform branch (every lane is here).
        const float q0 = __fmul_rn(v[j], p.inv);
        float r = __fmaf_rn(__fmaf_rn(-q0, p.s, v[j]), p.inv, q0);
        const bool slow = needsIeeeDivision(v[j], true);
        if (__any_sync(kFull, slow)) r = slow ? __fdiv_rn(v[j], p.s) : r;
        const float qr = rintf(r);
        dev = fabsf(__fsub_rn(r, qr));
        const float back = __fmul_rn(qr, p.s);
        recon = fabsf(__fsub_rn(back, v[j]));
        q = __fadd_rn(qr, p.fzp);
        const bool finite = fabsf(v[j]) < INFINITY;
        fin = active && finite;
        const bool off = back != v[j];
        a.art += fin && !off && dev != 0.0f;
        a.off += fin && off;
        tier = rankTier(finite, off, dev);
      } else {
        const Elem e = classify(v[j], p.start + i0 + j, p);
        fin = active && e.finite;
        q = e.q; dev = e.dev; recon = e.recon;
        a.art += fin && e.cls == kFp32Artifact;
        a.off += fin && e.cls == kOffGrid;
        tier = (unsigned)(rankKey(e) >> 32);
      }
      inRange = q >= fqmin && q <= fqmax;
      a.tol += fin && dev > p.tol;
      a.maxDev = fmaxf(a.maxDev, fin ? dev : 0.0f);  // fmaxf ignores an overflowing quotient's NaN, as the CPU does
      a.maxRecon = fmaxf(a.maxRecon, fin ? recon : 0.0f);
      a.devPacked += fin ? 1ull << (7 * devBin(dev)) : 0ull;
      if (active && fin && inRange) {
        if (kSharedHist) asm volatile("red.shared.add.u32 [%0], 1;" :: "r"(histAddr + 4u * (unsigned)(int)q) : "memory");
        else atomicAdd(&globalHist[(int)q - p.qmin], 1ull);
      }
      rareMask |= (unsigned)(active && !(fin && inRange)) << j;
      candMask |= (unsigned)(active && tier != 0u && (tier << 30 | __float_as_uint(dev) >> 1) >= thrShort) << j;
    }
    if (__any_sync(kFull, rareMask)) {
#pragma unroll
      for (int j = 0; j < 4; j++)
        if (__any_sync(kFull, rareMask >> j & 1)) countRare(v[j], classify(v[j], p.start + i0 + j, p), j < left, p, lane, a, &rare);
    }
    if (K > 0 && __any_sync(kFull, candMask)) {
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const bool flagged = candMask >> j & 1;
        if (!__any_sync(kFull, flagged)) continue;
        const Elem e = classify(v[j], p.start + i0 + j, p);
        const unsigned long long key = rankKey(e);
        const long long flat = p.start + i0 + j;
        wl.offer(flagged && ranksAbove(key, flat, wl.thrKey, wl.thrIdx), Entry{key, flat, v[j], e.q}, K, lane);
      }
      thrShort = shortKey(wl.thrKey);
    }
    if (++sinceFlush == 31) { flushDev(a.devPacked, myDev); sinceFlush = 0; }
  }
  flushDev(a.devPacked, myDev);
  finishBlock(a, wl, K, rare, sh, parts, blockWorst);
  if (kSharedHist) flushCodes(sh + kWarps * kDevBins, kWarps, bins, bins, globalHist);
}

// One more at a shared address. Unconditional: a predicated increment compiles to a branch and a
// convergence barrier per element, so callers that count nothing aim at a spare counter of their own lane.
__device__ __forceinline__ void sharedIncrement(unsigned addr) {
  asm volatile("red.shared.add.u32 [%0], 1;" :: "r"(addr) : "memory");
}

// Deviation bins by the deviation's exponent. A binade holds at most one decade bound (a decade is
// 3.3 binades), so an element's bin is its binade's lower bin, or the one above past the bound.
// Built by every block from devBin itself.
struct DevBinTable {
  uint2 entry[256];  // {the last bit pattern still in the lower bin, the lower bin}

  __device__ void build() {
    for (int e = threadIdx.x; e < 256; e += blockDim.x) {
      const unsigned lo = (unsigned)e << 23, hi = lo | 0x7fffffu;
      const int bl = devBin(__uint_as_float(lo)), bh = devBin(__uint_as_float(hi));
      unsigned a = hi;
      if (bl != bh) {
        a = lo;
        for (unsigned b = hi; b - a > 1;) { const unsigned m = a + (b - a) / 2; if (devBin(__uint_as_float(m)) == bl) a = m; else b = m; }
      }
      entry[e] = make_uint2(a, (unsigned)bl);
    }
  }
};

// ---- per-tensor scale, small code range: the common case, in a leaner pass ----------------------
//
// An element on the grid (x == fl32(q*s)) with its code c in range equals fl32((c - zp)*s), so its
// deviation, class, tolerance test and worst-list rank are functions of c alone. Such elements
// (nearly all of a quantized dump) are only counted, per code, in a histogram of their own, and
// their statistics are derived from it on the host (gridPointDeviation). What remains per element:
// the division, rint, the product, one comparison, one shared increment. The other elements (off
// the grid, out of range, non-finite) and the iteration that holds the tensor's end are handled per
// element as in verifyKernel, in warp-uniform branches; warps that meet many off-grid elements
// switch to a branch-free path (countEach) while their magnitudes allow Markstein's division.

// The bin (code - qmin) of code qr + zp, for |code| < 2^22, through the bits of qr + zp + 1.5*2^23;
// codes of larger magnitude (and NaN) give values far outside [0, bins).
struct CodeBin {
  float offset; unsigned bias;
  __device__ CodeBin(const KParams& p) : offset(12582912.0f + p.fzp), bias(0x4B400000u + (unsigned)p.qmin) {}
  __device__ __forceinline__ unsigned of(float qr) const { return __float_as_uint(__fadd_rn(qr, offset)) - bias; }
};

// fl32(v/s) by Markstein's division (callers have checked the warp's magnitudes), its rint, the
// grid point fl32(qr*s) and the code's bin.
struct GridPoint {
  float r, qr, back; unsigned bin;
  __device__ __forceinline__ GridPoint(float v, const KParams& p, const CodeBin& cb) {
    const float q0 = __fmul_rn(v, p.inv);
    r = __fmaf_rn(__fmaf_rn(-q0, p.s, v), p.inv, q0);
    qr = rintf(r);
    back = __fmul_rn(qr, p.s);
    bin = cb.of(qr);
  }
};

// The worst-list rank key in 32 bits: tier in the top two, the deviation's bits below (every finite
// deviation is at most 0.5, under 2^30; an overflowing quotient's NaN is clamped just above them).
// Orders as rankKey does.
__device__ __forceinline__ unsigned rankKey32(unsigned long long key) {
  return (unsigned)(key >> 32) << 30 | min((unsigned)key, 0x3fffffffu);
}

// One iteration's eight elements: on-grid elements with codes in range are counted (and, while the
// worst list can still take them, ranked by their code's deviation against thrDev); the others are
// flagged for the per-element path. No magnitude check is needed: whatever Markstein's quotient
// gives, fl32(qr*s) == v with qr a code in range means v is that code's grid point (the product is
// a normal float for s in [2^-60, 2^60], and distinct codes have distinct points), and every other
// element is classified again with the IEEE division where needed.
template <bool kRankGrid>
__device__ __forceinline__ void countOnGrid(const float (&v)[8], const KParams& p, const CodeBin& cb, unsigned bins, unsigned gridAddr,
                                            unsigned spareAddr, const float* codeDev, float thrDev, unsigned& other, unsigned& cand) {
#pragma unroll
  for (int j = 0; j < 8; j++) {
    const GridPoint g(v[j], p, cb);
    const bool on = g.back == v[j] && g.bin < bins;
    sharedIncrement(on ? gridAddr + 4u * g.bin : spareAddr);
    other |= (unsigned)!on << j;
    if (kRankGrid) cand |= (unsigned)(on && codeDev[g.bin] > thrDev) << j;
  }
}

// Codes within kCodeWindow of the range (out of range by a little: saturation overflows, a wrong
// zero point) are counted by code like the others, so the on-grid pass keeps out-of-range elements
// off the per-element path; their statistics follow from the counts on the host.
constexpr int kCodeWindow = 128;

// The on-grid pass's shared histograms. Indices are codes - (qmin - kCodeWindow), over the window:
// kExtra slots past it: a spare (elements of codes past the window; in the non-finite row,
// countEach's non-finite elements) and, in the non-finite row, the infinite ones among those.
struct CodeSlots {
  static constexpr int kExtra = 2;
  int window, stride;  // codes counted (bins + 2 * kCodeWindow); slots per histogram
  __host__ __device__ explicit CodeSlots(int bins) : window(bins + 2 * kCodeWindow), stride(bins + 2 * kCodeWindow + kExtra) {}
  __host__ __device__ int spareSlot() const { return window; }
  __host__ __device__ int infSlot() const { return window + 1; }
};

// The rows of the on-grid pass's histogram of elements not on the grid (each CodeSlots wide): one
// per deviation bin for the elements countEach counts (off the grid, code in the window), then one
// row that takes the per-element path's codes, and in its spare and Inf slots countEach's
// non-finite elements and, of those, the infinite ones.
constexpr int kOtherRows = kDevBins + 1;
constexpr int kNonFiniteRow = kDevBins;

// countEach's deviation bins as histogram rows, by the sign and exponent of the difference
// r - rint(r) (the deviation is its magnitude): {the last bit pattern still in the lower bin, the
// shared address of the lower bin's row, that of the bin above, 0}. A negative difference orders
// as its magnitude does once the sign bit is set on the bound, so no absolute value is needed per
// element. Exponent 255 (the NaN of a non-finite element) maps to the non-finite row. Built by
// every block from DevBinTable.
struct RowTable {
  uint4 entry[512];

  __device__ void build(const DevBinTable& bins, unsigned otherBase, int stride) {
    for (int i = threadIdx.x; i < 512; i += blockDim.x) {
      const int e = i & 255;
      const unsigned low = e == 255 ? (unsigned)kNonFiniteRow : bins.entry[e].y, high = e == 255 ? low : min(low + 1u, (unsigned)kDevBins - 1u);
      entry[i] = make_uint4(bins.entry[e].x | (unsigned)(i & 256) << 23, otherBase + 4u * (unsigned)stride * low, otherBase + 4u * (unsigned)stride * high, 0u);
    }
  }
  // The row of a difference's bin (the non-finite row for NaN), through the table's shared
  // address: an explicit load, so the lookup stays unconditional (a C++ load under the caller's
  // select compiled to a branch and a convergence barrier per element).
  __device__ __forceinline__ static unsigned rowOf(unsigned diffBits, unsigned tableAddr) {
    unsigned bound, low, high;
    [[maybe_unused]] unsigned pad;  // the entry's fourth word: padding to one 16-byte load
    asm("ld.shared.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(bound), "=r"(low), "=r"(high), "=r"(pad) : "r"(tableAddr + 16u * (diffBits >> 23)));
    return diffBits > bound ? high : low;
  }
};

// Finiteness as the dense path tests it. Not written as classify's test (|v| < Inf): given that
// one, the compiler kept classify's result per element in a register for the rare paths, at two
// instructions each.
__device__ __forceinline__ bool denseFinite(float v) { return fabsf(v) <= 0x1.fffffep127f; }

// The same eight elements when many are off the grid: everything per element, without branches
// (for warps whose magnitudes allow Markstein's division: the deviations come from the quotient).
// Each element costs one shared increment: on-grid ones in this warp's histogram by code (their
// statistics follow from the code, in range or within the window); the others in the block's
// histogram of the rest by code and deviation bin (finite off-grid ones in the window: their
// count, deviation bins and, with kTolByBins, tolerance count follow from the rows), or in the
// non-finite row. What no slot says is kept in registers: the maxima of this iteration's
// deviations and reconstruction errors (on-grid elements add nothing the host does not fold in from
// their code, and a NaN vanishes in fmaxf), the tolerance count unless kTolByBins, and flags: an
// element not both on the grid and in range (offGrid), finite but of a code past the window (far:
// farMask finds which), non-finite.
template <bool kTolByBins>
__device__ __forceinline__ void countEach(const float (&v)[8], const KParams& p, const CodeBin& cb, unsigned bins, const CodeSlots& cs,
                                         unsigned gridBase, unsigned tableAddr, ThreadAcc& a, float& iterDev, float& iterRecon,
                                         bool& offGrid, bool& far, bool& nonFinite) {
#pragma unroll
  for (int j = 0; j < 8; j++) {
    const GridPoint g(v[j], p, cb);
    const unsigned slot = g.bin + (unsigned)kCodeWindow;
    const bool finite = denseFinite(v[j]), inWindow = slot < (unsigned)cs.window, onGrid = g.back == v[j];
    const float diff = __fsub_rn(g.r, g.qr), dev = fabsf(diff);
    const unsigned row = RowTable::rowOf(__float_as_uint(diff), tableAddr);
    sharedIncrement((onGrid ? gridBase : row) + 4u * (inWindow ? slot : (unsigned)cs.spareSlot()));
    iterDev = fmaxf(iterDev, dev);
    iterRecon = fmaxf(iterRecon, fabsf(__fsub_rn(g.back, v[j])));
    if (!kTolByBins) a.tol += !onGrid && inWindow && dev > p.tol;
    offGrid |= !(onGrid && g.bin < bins);
    far |= finite && !inWindow;
    nonFinite |= !finite;
  }
}

// Which of the eight elements countEach left to the per-element path: finite, of a code past the window.
__device__ __forceinline__ unsigned farMask(const float (&v)[8], const KParams& p, const CodeBin& cb, const CodeSlots& cs) {
  unsigned m = 0;
#pragma unroll
  for (int j = 0; j < 8; j++) {
    const GridPoint g(v[j], p, cb);
    m |= (unsigned)(fabsf(v[j]) < INFINITY && g.bin + (unsigned)kCodeWindow >= (unsigned)cs.window) << j;
  }
  return m;
}

// Adds the on-grid pass's rows of the others (kOtherRows rows over the code window, CodeSlots) into
// the global histograms as the host reads them (HistLayout): by code (the rows summed), each row's
// total, the non-finite row's extra slots. On data mostly off the grid every row holds counts for
// most codes, and the host needs only these sums: a slot of the code window per code, not per code and row
// (the same speed on an H100 within noise, 8x fewer global atomics on unquantized data).
__device__ __noinline__ void flushOtherRows(const unsigned* rows, const CodeSlots cs, unsigned long long* global) {
  using u64 = unsigned long long;
  __shared__ u64 warpTotals[kWarps][kOtherRows];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();
  u64 rowTotal[kOtherRows] = {};
  for (int i = threadIdx.x; i < cs.window; i += blockDim.x) {
    u64 t = 0;
#pragma unroll
    for (int k = 0; k < kOtherRows; k++) {
      const unsigned c = rows[k * cs.stride + i];
      t += c; rowTotal[k] += c;
    }
    if (t) atomicAdd(&global[i], t);
  }
  if (threadIdx.x < CodeSlots::kExtra) {
    const unsigned c = rows[kNonFiniteRow * cs.stride + cs.window + threadIdx.x];
    if (c) atomicAdd(&global[cs.window + kOtherRows + threadIdx.x], (u64)c);
  }
#pragma unroll
  for (int k = 0; k < kOtherRows; k++) {
    const u64 w = warpSum(rowTotal[k]);
    if (lane == 0) warpTotals[warp][k] = w;
  }
  __syncthreads();
  if (threadIdx.x < kOtherRows) {
    u64 total = 0;
    for (int w = 0; w < kWarps; w++) total += warpTotals[w][threadIdx.x];
    if (total) atomicAdd(&global[cs.window + threadIdx.x], total);
  }
}

#ifndef QL_VERIFY_ONGRID_MIN_BLOCKS
#define QL_VERIFY_ONGRID_MIN_BLOCKS 3  // 80 registers: at 64 the prefetched loads were spilled (and waited for)
#endif

template <bool kTolByBins>
__global__ void __launch_bounds__(256, QL_VERIFY_ONGRID_MIN_BLOCKS) verifyOnGridKernel(const float* __restrict__ x, long long n, KParams p, int bins, int K,
                                                                               float maxGridDev, Part* parts, Entry* blockWorst,
                                                                               unsigned long long* onGridHist, unsigned long long* otherHist) {
  extern __shared__ unsigned int sh[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  // Shared layout (the host's shmem sum follows it): kWarps * kDevBins deviation counters, kWarps histograms of
  // on-grid codes and kOtherRows rows of the others (off the grid: fewer, and per block), each over
  // the code window (CodeSlots); a spare counter per thread; each code's grid-point deviation.
  const CodeSlots cs(bins);
  unsigned* devH = sh;
  unsigned* gridH = sh + kWarps * kDevBins;
  unsigned* otherH = gridH + kWarps * cs.stride;
  unsigned* spare = otherH + kOtherRows * cs.stride;  // one per thread: the increments of elements counted nowhere
  float* codeDev = reinterpret_cast<float*>(spare + blockDim.x);  // each code's grid-point deviation, -1 for none
  for (int i = threadIdx.x; i < kWarps * (kDevBins + cs.stride) + kOtherRows * cs.stride; i += blockDim.x) sh[i] = 0;
  for (int b = threadIdx.x; b < bins; b += blockDim.x) {
    float d;
    codeDev[b] = gridPointDeviation(p.qmin + b, p.s, (int32_t)p.fzp, d) ? d : -1.0f;
  }
  __shared__ RareShared rare;
  __shared__ DevBinTable devTable;
  __shared__ RowTable rowTable;
  if (threadIdx.x == 0) rare = RareShared{0, 0, 0, 0, floatKey(INFINITY), floatKey(-INFINITY)};
  devTable.build();
  __syncthreads();
  rowTable.build(devTable, (unsigned)__cvta_generic_to_shared(otherH), cs.stride);
  __syncthreads();
  const unsigned spareAddr = (unsigned)__cvta_generic_to_shared(spare + threadIdx.x);
  unsigned* myDev = devH + warp * kDevBins;
  // Slot 0 of the window (gridBase) and code qmin (gridAddr, and otherAddr in the non-finite row,
  // which takes the per-element path's codes).
  const unsigned gridBase = (unsigned)__cvta_generic_to_shared(gridH + warp * cs.stride), gridAddr = gridBase + 4u * kCodeWindow;
  unsigned* nonFiniteRow = otherH + kNonFiniteRow * cs.stride;
  const unsigned otherAddr = (unsigned)__cvta_generic_to_shared(nonFiniteRow) + 4u * kCodeWindow;
  const unsigned tableAddr = (unsigned)__cvta_generic_to_shared(rowTable.entry);
  const CodeBin cb(p);
  const float fqmin = (float)p.qmin, fqmax = (float)p.qmax;
  // Markstein's division is exact for |v| in [2^-60, 2^60], for zero, and gives a NaN quotient for
  // Inf and NaN, which are classified without it. Per element, on 2|bits|: the smallest of
  // 2|bits| - 2 (zero wraps to the top) and the largest of 2|bits| + 2^24 (Inf and NaN wrap to the bottom).
  constexpr unsigned kNonFiniteWrap = 0x01000000u;
  const unsigned tinyLimit = 2u * __float_as_uint(0x1p-60f) - 2u, hugeLimit = 2u * __float_as_uint(0x1p60f) + kNonFiniteWrap;

  ThreadAcc a;
  WarpList wl;
  float thrDev = 0.0f;                              // on-grid candidates need a deviation above this
  bool rankGrid = K > 0 && maxGridDev > 0.0f;       // ... and none qualifies once thrDev >= maxGridDev
  unsigned thr32 = 0;                               // candidates need a rankKey32 above this (the K-th entry's, or just below the block floor)
  float denseDevThr = 0.0f, denseReconThr = 0.0f;   // countEach's candidates: a deviation or reconstruction error above these
  bool dense = false;                               // the last iteration had many elements off the grid
  // The block's floor: each warp publishes the key32 of its floorRank-th entry; every warp's list
  // holds floorRank entries at or above the least of these, kWarps * floorRank >= K in all, so an
  // element below it cannot be among the block's K worst (a list's entries only rise, so a stale
  // read is merely conservative). A warp's own K-th entry rises with its share of the data; the
  // floor with the whole block's, so far fewer elements are candidates.
  __shared__ unsigned publishedKeys[kWarps];
  volatile unsigned* published = publishedKeys;
  if (threadIdx.x < kWarps) publishedKeys[threadIdx.x] = 0;
  __syncthreads();
  const int floorRank = (K + kWarps - 1) / kWarps;
  unsigned floorKey = 0;  // candidates need a key32 at least this
  // The thresholds above from the warp's K-th entry and the floor: candidates need a key32 above
  // both (later elements have higher indices: one ranks above the K-th entry only with a higher key).
  auto refreshThresholds = [&]() {
    floorKey = max(floorKey, warpReduce<WarpOp::kMin>(lane < kWarps ? published[lane] : ~0u));
    const unsigned above = floorKey ? max(rankKey32(wl.thrKey), floorKey - 1) : rankKey32(wl.thrKey);
    const unsigned tier = above >> 30;
    thrDev = tier == 0 ? 0.0f : __uint_as_float(above & 0x3fffffffu);
    rankGrid = tier <= 1 && thrDev < maxGridDev;
    thr32 = above;
    denseDevThr = tier == 3 ? INFINITY : thrDev;
    denseReconThr = tier <= 1 ? 0.0f : INFINITY;
  };
  const float4* x4 = reinterpret_cast<const float4*>(x);
  // Loop positions in 32 bits (a launch holds fewer than 2^31 elements: kCudaVerifyLaunchElements),
  // which leaves registers and instructions for the loop's work: +2% on the stress and unquantized
  // mixes on an H100.
  const unsigned nn = (unsigned)n;
  const unsigned groups = (nn + 3) / 4;
  const unsigned stride = gridDim.x * kWarps * 64;
  int sinceFlush = 0;
  unsigned base = (blockIdx.x * kWarps + warp) * 64;
  float4 na = loadGroup(x, x4, base + lane, n), nb = loadGroup(x, x4, base + 32 + lane, n);
  for (; base < groups; base += stride) {
    const float v[8] = {na.x, na.y, na.z, na.w, nb.x, nb.y, nb.z, nb.w};
    // The next iteration's data, in flight while these are classified; checked only near the end.
    if ((base + stride + 64) * 4 <= nn) {
      na = __ldcs(x4 + base + stride + lane);
      nb = __ldcs(x4 + base + stride + 32 + lane);
    } else {
      na = loadGroup(x, x4, base + stride + lane, n);
      nb = loadGroup(x, x4, base + stride + 32 + lane, n);
    }
    auto index = [&](int j) { return (base + lane + (j >> 2) * 32) * 4 + (unsigned)(j & 3); };
    const bool full = (base + 64) * 4 <= nn;
    bool markstein = false;
    if (full && dense) {
      unsigned tiny = ~0u, huge = 0u;
#pragma unroll
      for (int j = 0; j < 8; j++) {
        const unsigned twice = __float_as_uint(v[j]) * 2u;  // 2|bits|: the sign shifted out
        tiny = min(tiny, twice - 2u);
        huge = max(huge, twice + kNonFiniteWrap);
      }
      markstein = !__any_sync(kFull, tiny < tinyLimit || huge > hugeLimit);
    }
    unsigned other = 0, cand = 0;  // elements for the per-element path; worst-list candidates
    bool prefilter = false;        // cand holds whole lanes (countEach's test): test each element first
    // countEach's conservative candidate test (the exact one is below): an element can be a
    // candidate only if it is non-finite (unless the list is all non-finite), has a deviation above
    // the K-th entry's, or, while the K-th entry is on the grid, is off it (a nonzero reconstruction
    // error). For a lane, from the maxima of its elements.
    auto mayRank = [&](bool nonFinite, float dev, float recon) {
      return (nonFinite && thr32 < 0xC0000000u) || dev > denseDevThr || recon > denseReconThr;
    };
    if (markstein) {
      bool offGrid = false, far = false, nonFinite = false;
      float iterDev = 0.0f, iterRecon = 0.0f;
      countEach<kTolByBins>(v, p, cb, (unsigned)bins, cs, gridBase, tableAddr, a, iterDev, iterRecon, offGrid, far, nonFinite);
      a.maxDev = fmaxf(a.maxDev, iterDev);
      a.maxRecon = fmaxf(a.maxRecon, iterRecon);
      dense = __popc(__ballot_sync(kFull, offGrid)) > 2;  // more than two lanes would need the per-element path
      if (__any_sync(kFull, far)) other = farMask(v, p, cb, cs);
      if (__any_sync(kFull, nonFinite)) {
        // countEach counted them all in the non-finite row; the infinite ones are told apart here.
#pragma unroll
        for (int j = 0; j < 8; j++) {
          const unsigned infs = __ballot_sync(kFull, isinf(v[j]));
          if (lane == 0 && infs) atomicAdd(&nonFiniteRow[cs.infSlot()], (unsigned)__popc(infs));
        }
      }
      // Per lane here, from this iteration's maxima; per element below, before classifying.
      if (K > 0 && mayRank(nonFinite, iterDev, iterRecon)) cand = 0xffu;
      prefilter = true;
    } else {
      if (full && !dense && rankGrid) countOnGrid<true>(v, p, cb, (unsigned)bins, gridAddr, spareAddr, codeDev, thrDev, other, cand);
      else if (full && !dense) countOnGrid<false>(v, p, cb, (unsigned)bins, gridAddr, spareAddr, codeDev, thrDev, other, cand);
      else {
#pragma unroll
        for (int j = 0; j < 8; j++) other |= (unsigned)(index(j) < nn) << j;
      }
      // Next iteration branch-free if more than two of this one's eight slots needed the per-element
      // path somewhere in the warp (each such slot costs a whole warp's pass).
      dense = __popc(warpReduce<WarpOp::kOr>(other)) > 2;
    }
    if (__any_sync(kFull, other)) {
#pragma unroll
      for (int j = 0; j < 8; j++) {
        const bool flagged = other >> j & 1;
        if (!__any_sync(kFull, flagged)) continue;
        const Elem e = classify(v[j], p.start + index(j), p);  // IEEE division where Markstein's is not exact
        const bool inRange = e.q >= fqmin && e.q <= fqmax;
        const bool on = flagged && e.finite && e.cls != kOffGrid && inRange;
        const bool rest = flagged && !on;
        const unsigned bin = (unsigned)((int)e.q - p.qmin);
        sharedIncrement(on || (rest && e.finite && inRange) ? (on ? gridAddr : otherAddr) + 4u * bin : spareAddr);
        if (rest && e.finite) {
          a.tol += e.dev > p.tol;
          a.maxDev = fmaxf(a.maxDev, e.dev);  // fmaxf ignores an overflowing quotient's NaN, as the CPU does
          a.maxRecon = fmaxf(a.maxRecon, e.recon);
          a.devPacked += 1ull << (7 * devBin(e.dev));
          a.art += e.cls == kFp32Artifact;
          a.off += e.cls == kOffGrid;
        }
        const bool rareHere = rest && !(e.finite && inRange);
        if (__any_sync(kFull, rareHere)) countRare(v[j], e, rareHere, p, lane, a, &rare);
        cand |= (unsigned)(flagged && rankKey(e) > wl.thrKey) << j;
      }
    }
    if (K > 0 && __any_sync(kFull, cand)) {
      // Against the threshold the iteration began with: every element here has a higher index than
      // the list's entries then, but not than the entries this loop adds.
      const unsigned long long thrStart = wl.thrKey;
      // A warp's list takes about K ln(N/K) of its N elements, so most iterations that reach this
      // loop from countEach hold one candidate: the others are dropped before they are classified.
      if (prefilter) {
#pragma unroll
        for (int j = 0; j < 8; j++) {
          const GridPoint g(v[j], p, cb);
          cand &= ~((unsigned)!mayRank(!denseFinite(v[j]), fabsf(__fsub_rn(g.r, g.qr)), fabsf(__fsub_rn(g.back, v[j]))) << j);
        }
      }
      // The rank key and code of element j: with Markstein's quotient exact for the whole warp
      // (prefilter), classify's result follows from the grid point.
      auto keyOf = [&](int j, float& q) -> unsigned long long {
        if (prefilter) {
          const GridPoint g(v[j], p, cb);
          const float dev = fabsf(__fsub_rn(g.r, g.qr));
          const bool fin = denseFinite(v[j]);
          const unsigned tier = rankTier(fin, g.back != v[j], dev);
          q = fin ? __fadd_rn(g.qr, p.fzp) : 0.0f;
          return (unsigned long long)tier << 32 | (fin ? __float_as_uint(dev) : 0u);
        }
        const Elem e = classify(v[j], p.start + index(j), p);
        q = e.q;
        return rankKey(e);
      };
#pragma unroll
      for (int j = 0; j < 8; j++) {
        if (!__any_sync(kFull, cand >> j & 1)) continue;
        const long long i = index(j), flat = p.start + i;
        float q;
        const unsigned long long key = keyOf(j, q);
        const bool flagged = (cand >> j & 1) && i < n && key > thrStart && rankKey32(key) >= floorKey;
        wl.offer(flagged && ranksAbove(key, flat, wl.thrKey, wl.thrIdx), Entry{key, flat, v[j], q}, K, lane);
      }
      if (lane == floorRank - 1) published[warp] = rankKey32(wl.mine.key);
      refreshThresholds();
    }
    if (++sinceFlush == 15) {  // 15 * 8 < 128 per packed bin
      flushDev(a.devPacked, myDev);
      sinceFlush = 0;
      if (K > 0) refreshThresholds();  // the other warps' lists rise too
    }
  }
  flushDev(a.devPacked, myDev);
  finishBlock(a, wl, K, rare, devH, parts, blockWorst);
  flushCodes(gridH, kWarps, cs.window, cs.stride, onGridHist);
  flushOtherRows(otherH, cs, otherHist);
}

// The grid's histograms as the blocks accumulate them and the host reads them. The on-grid pass:
// on-grid counts by code over the window, the others' counts by code (their rows summed), each
// row's total, then the non-finite row's spare and Inf slots (flushOtherRows). Otherwise: the code
// histogram.
struct HistLayout {
  int window, bins;  // window 0: not the on-grid pass
  __host__ __device__ size_t slots() const { return window ? 2 * (size_t)window + kOtherRows + CodeSlots::kExtra : (size_t)bins; }
};

// Copies the accumulated histograms out for the host and clears them for the next call (so no
// call needs to clear them first).
__device__ void takeHistograms(unsigned long long* acc, const HistLayout lay, unsigned long long* out) {
  const size_t n = lay.slots();
  for (size_t i = threadIdx.x; i < n; i += blockDim.x) { out[i] = acc[i]; acc[i] = 0; }
}

// Reduces the blocks' Parts and worst lists into one DevResult (one block of 256 threads), and
// takes the accumulated histograms into outHist.
__global__ void __launch_bounds__(256) finalizeKernel(const Part* parts, int nParts, const Entry* blockWorst, int K, DevResult* out,
                                                      unsigned long long* hist, HistLayout lay, unsigned long long* outHist) {
  __shared__ Part sp[256];
  __shared__ Entry lists[kWarps][kMaxFusedK];
  const int t = threadIdx.x, warp = t >> 5, lane = t & 31;
  takeHistograms(hist, lay, outHist);
  Part acc = emptyPart();
  for (int i = t; i < nParts; i += blockDim.x) combine(acc, parts[i]);
  sp[t] = acc;
  __syncthreads();
  for (int s = 128; s > 0; s >>= 1) {
    if (t < s) combine(sp[t], sp[t + s]);
    __syncthreads();
  }
  if (t == 0) out->part = sp[0];
  if (K <= 0) return;
  // Every block's list is sorted and holds K entries (or all its candidates), so an entry ranked
  // below the best of the blocks' K-th entries has K entries above it in that block alone: only
  // entries at or above that floor are offered. Most are below it, and offers are serial per warp
  // (on unquantized data the offers took most of this kernel's 28 us).
  __shared__ unsigned long long floorKeys[kWarps];
  __shared__ long long floorIdx[kWarps];
  unsigned long long fk = 0; long long fi = -1;  // the empty entry: ranks below every other
  for (int i = t; i < nParts; i += blockDim.x) {
    const Entry& e = blockWorst[(long long)i * K + K - 1];
    keepAbove(fk, fi, e.key, e.idx);
  }
  for (int off = 16; off > 0; off >>= 1) {
    const unsigned long long ok = __shfl_xor_sync(kFull, fk, off);
    const long long oi = __shfl_xor_sync(kFull, fi, off);
    keepAbove(fk, fi, ok, oi);
  }
  if (lane == 0) { floorKeys[warp] = fk; floorIdx[warp] = fi; }
  __syncthreads();
  for (int w = 0; w < kWarps; w++)
    keepAbove(fk, fi, floorKeys[w], floorIdx[w]);
  WarpList wl;
  const long long total = (long long)nParts * K;
  for (long long base = (long long)warp * 32; base < total; base += kWarps * 32) {
    const long long i = base + lane;
    const Entry e = i < total ? blockWorst[i] : emptyEntry();
    const bool reaches = i < total && !ranksAbove(fk, fi, e.key, e.idx);
    wl.offer(reaches && ranksAbove(e.key, e.idx, wl.thrKey, wl.thrIdx), e, K, lane);
  }
  if (lane < K) lists[warp][lane] = wl.mine;
  __syncthreads();
  if (warp == 0) {
    for (int w = 1; w < kWarps; w++) {
      const Entry e = lane < K ? lists[w][lane] : emptyEntry();
      wl.offer(lane < K && ranksAbove(e.key, e.idx, wl.thrKey, wl.thrIdx), e, K, lane);
    }
    if (lane < K) out->worst[lane] = wl.mine;
  }
}

// ---- worst lists longer than a warp (up to 1000): threshold from a key histogram, then collect ----

constexpr int kKeyBins = 4096;
__device__ __forceinline__ int keyBin(unsigned long long key) {
  return (int)((key >> 32) << 10) | (int)(((unsigned)key >> 21) & 1023u);
}
__host__ __device__ inline unsigned long long keyBinLow(int bin) {
  return ((unsigned long long)(bin >> 10) << 32) | ((unsigned long long)(bin & 1023) << 21);
}

__global__ void keyHistKernel(const float* __restrict__ x, long long n, KParams p, unsigned long long* keyHist) {
  __shared__ unsigned int keyH[kKeyBins];
  for (int i = threadIdx.x; i < kKeyBins; i += blockDim.x) keyH[i] = 0;
  __syncthreads();
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    const unsigned long long key = rankKey(classify(x[i], p.start + i, p));
    if (key) atomicAdd(&keyH[keyBin(key)], 1u);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < kKeyBins; i += blockDim.x) if (keyH[i]) atomicAdd(&keyHist[i], (unsigned long long)keyH[i]);
}

// Counts elements whose key > keyLo, or == keyLo with index < idxHi (for exact tie-breaking).
__global__ void countKernel(const float* __restrict__ x, long long n, KParams p, unsigned long long keyLo, long long idxHi, unsigned long long* count) {
  unsigned long long c = 0;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    const unsigned long long k = rankKey(classify(x[i], p.start + i, p));
    if (k > keyLo || (k == keyLo && i < idxHi)) c++;
  }
  c = warpSum(c);
  if ((threadIdx.x & 31) == 0 && c) atomicAdd(count, c);
}

__global__ void collectKernel(const float* __restrict__ x, long long n, KParams p, unsigned long long keyLo, long long idxHi, Worst* out, unsigned long long* count, unsigned long long cap) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    const float v = x[i];
    const Elem e = classify(v, p.start + i, p);
    const unsigned long long k = rankKey(e);
    if (k > keyLo || (k == keyLo && i < idxHi)) {
      const unsigned long long slot = atomicAdd(count, 1ull);
      if (slot < cap) out[slot] = Worst{p.start + i, v, e.q, e.dev, e.cls};
    }
  }
}

struct Context {
  float* x = nullptr; size_t xCap = 0;
  float* scales = nullptr; size_t scalesCap = 0;
  int32_t* zps = nullptr; size_t zpsCap = 0;
  unsigned char* result = nullptr; size_t resultCap = 0;  // DevResult, then the histograms as the host reads them (HistLayout)
  // The blocks' histogram accumulators; zero between calls (finalizeKernel clears what it read)
  // unless a call failed before reading them back.
  unsigned long long* hist = nullptr; size_t histCap = 0; bool histZero = false;
  Part* parts = nullptr; size_t partsCap = 0;
  Entry* blockWorst = nullptr; size_t blockWorstCap = 0;
  unsigned long long* count = nullptr;
  unsigned long long* keyHist = nullptr;
  Worst* cand = nullptr; size_t candCap = 0;
  unsigned char* hostResult = nullptr; size_t hostResultCap = 0;  // pinned: a pageable copy costs more than small kernels
  std::map<std::pair<const void*, size_t>, int> blocksPerSm;      // occupancy, by kernel and shared memory
};

Context& ctx() { static Context c; return c; }

template <typename T> void grow(T*& ptr, size_t& cap, size_t need, const char* what) {
  if (need <= cap) return;
  if (ptr) cudaFree(ptr);
  ptr = nullptr;
  check(cudaMalloc(&ptr, need * sizeof(T)), what);
  cap = need;
}


float entryDev(const Entry& e) { return bitsToFloat((uint32_t)e.key); }
uint8_t entryClass(const Entry& e) {
  const unsigned tier = (unsigned)(e.key >> 32);
  return tier == 3 ? kNonFinite : tier == 2 ? kOffGrid : kFp32Artifact;  // tier 1: nonzero deviation, on the grid
}

// Worst lists longer than a warp: exact top-K through a key histogram, then one collecting pass.
void worstByThreshold(const float* dx, int64_t n, const KParams& kp, int blocks, int K, GridAcc& part) {
  Context& c = ctx();
  if (!c.count) check(cudaMalloc(&c.count, sizeof(unsigned long long)), "alloc count");
  if (!c.keyHist) check(cudaMalloc(&c.keyHist, kKeyBins * sizeof(unsigned long long)), "alloc key histogram");
  check(cudaMemset(c.keyHist, 0, kKeyBins * sizeof(unsigned long long)), "init key histogram");
  keyHistKernel<<<blocks, 256>>>(dx, n, kp, c.keyHist);
  check(cudaGetLastError(), "key histogram kernel");
  auto countAbove = [&](unsigned long long keyLo, long long idxHi) {
    check(cudaMemset(c.count, 0, sizeof(unsigned long long)), "init count");
    countKernel<<<blocks, 256>>>(dx, n, kp, keyLo, idxHi, c.count);
    unsigned long long v; check(cudaMemcpy(&v, c.count, sizeof v, cudaMemcpyDeviceToHost), "read count");
    return v;
  };
  const unsigned long long cap = 1 << 20;
  // Candidates: from the key histogram, the lowest bin that still holds the K-th worst element;
  // everything at or above that bin's lower key is collected (one pass) and ranked on the host.
  std::vector<unsigned long long> kh(kKeyBins);
  check(cudaMemcpy(kh.data(), c.keyHist, kKeyBins * sizeof(unsigned long long), cudaMemcpyDeviceToHost), "read key histogram");
  unsigned long long keyLo = 0, above = 0; long long idxHi = 0;
  int b = kKeyBins - 1;
  for (; b > 0; b--) { above += kh[b]; if (above >= (unsigned long long)K) break; }
  if (b > 0) keyLo = keyBinLow(b) - 1;  // collect key > keyLo, i.e. key >= the bin's lower bound
  if (above > cap) {
    // Over a million candidates in one bin (massive ties): exact threshold by bisection on the key,
    // then the lowest indices among the ties, as the CPU's ordering does.
    unsigned long long lo = keyLo, hi = (4ull << 32);
    while (hi - lo > 1) {
      const unsigned long long mid = lo + (hi - lo) / 2;
      if (countAbove(mid, 0) >= (unsigned long long)K) lo = mid; else hi = mid;
    }
    // count(key > lo) >= K > count(key > lo+1): the K-th element has key lo+1.
    keyLo = lo + 1;
    long long ilo = 0, ihi = n;
    while (ilo < ihi) {
      const long long mid = ilo + (ihi - ilo) / 2;
      if (countAbove(keyLo, mid) >= (unsigned long long)K) ihi = mid; else ilo = mid + 1;
    }
    idxHi = ilo;
  }
  grow(c.cand, c.candCap, (size_t)cap, "alloc candidates");
  check(cudaMemset(c.count, 0, sizeof(unsigned long long)), "init count");
  collectKernel<<<blocks, 256>>>(dx, n, kp, keyLo, idxHi, c.cand, c.count, cap);
  check(cudaGetLastError(), "collect kernel");
  unsigned long long got; check(cudaMemcpy(&got, c.count, sizeof got, cudaMemcpyDeviceToHost), "read count");
  got = std::min(got, cap);
  std::vector<Worst> cand(got);
  if (got) check(cudaMemcpy(cand.data(), c.cand, got * sizeof(Worst), cudaMemcpyDeviceToHost), "read candidates");
  for (const Worst& w : cand) insertWorst(part.worst, w, K);
}

}  // namespace

static bool fastDivisionFor(float s) { return s >= 0x1p-60f && s <= 0x1p60f; }

// Verifies device-resident data (16-byte aligned); used by cudaVerify and by the benchmarks.
void cudaVerifyDevice(const float* dx, int64_t n, int64_t start, const GridParams& p, GridAcc& out, int64_t launchElements) {
  Context& c = ctx();
  if (reinterpret_cast<uintptr_t>(dx) % 16) throw std::runtime_error("CUDA verify needs 16-byte aligned data");
  if (launchElements < 4 || launchElements % 4 || launchElements >= ((int64_t)1 << 31)) throw std::logic_error("CUDA verify: launchElements must be a multiple of 4 below 2^31");
  if (n > launchElements) {
    // Launches of launchElements (16-byte aligned starts), merged as chunks are: the same results.
    for (int64_t off = 0; off < n; off += launchElements) cudaVerifyDevice(dx + off, std::min(launchElements, n - off), start + off, p, out, launchElements);
    return;
  }
  const int bins = p.qmax - p.qmin + 1;
  const int channels = (int)p.scales.size();
  KParams kp{nullptr, nullptr, channels, p.inner, start, p.qmin, p.qmax, p.tolerance, p.inputIsCodes, 1.0f, 1.0f, 0.0f, false};
  if (channels > 1) {
    grow(c.scales, c.scalesCap, p.scales.size(), "alloc scales");
    grow(c.zps, c.zpsCap, p.scales.size(), "alloc zero points");
    check(cudaMemcpyAsync(c.scales, p.scales.data(), p.scales.size() * 4, cudaMemcpyHostToDevice), "copy scales");
    check(cudaMemcpyAsync(c.zps, p.zeroPoints.data(), p.scales.size() * 4, cudaMemcpyHostToDevice), "copy zero points");
    kp.scales = c.scales; kp.zps = c.zps;
  } else {
    kp.s = p.scales.empty() ? 1.0f : p.scales[0];
    kp.fzp = p.zeroPoints.empty() ? 0.0f : (float)p.zeroPoints[0];
    kp.inv = 1.0f / kp.s;  // RN(1/s): host IEEE division
    kp.fastDiv = fastDivisionFor(kp.s);
  }
  const int K = p.worstK;
  const int fusedK = K <= kMaxFusedK ? K : 0;
  const bool fast = channels <= 1 && kp.fastDiv && !kp.codes, shared = bins <= kSharedBins;
  const bool onGridPass = fast && shared;
  // The on-grid pass derives its on-grid elements' statistics from their codes, over the whole code
  // window (windowDev); the largest deviation a code in range can have bounds which of them can
  // still enter the worst list (the kernel ranks only those by code).
  const int32_t zp = p.zeroPoints.empty() ? 0 : p.zeroPoints[0];
  const CodeSlots cs(bins);
  const std::vector<float> windowDev = onGridPass ? gridPointDeviations(p.qmin - kCodeWindow, cs.window, kp.s, zp) : std::vector<float>();
  float maxGridDev = 0.0f;
  if (onGridPass)
    for (int b = 0; b < bins; b++) maxGridDev = std::max(maxGridDev, windowDev[kCodeWindow + b]);
  // verifyOnGridKernel's layout: deviation counters, kWarps code-window histograms and kOtherRows
  // rows of the others, a spare per thread, the codes' deviations.
  const size_t shmem = onGridPass ? (kWarps * (size_t)(kDevBins + cs.stride) + kOtherRows * (size_t)cs.stride + 256 + (size_t)bins) * sizeof(unsigned int)
                                  : (kWarps * kDevBins + (shared ? kWarps * (size_t)bins : 0)) * sizeof(unsigned int);
  auto kernel = shared ? (fast ? verifyKernel<true, true> : verifyKernel<true, false>) : (fast ? verifyKernel<false, true> : verifyKernel<false, false>);
  // As many blocks as fit on the GPU at once (each loops over the data), fewer for small inputs.
  // The tolerance count of countEach's elements follows from their deviation rows when the tolerance
  // is the top of its deviation bin (a bin bound, as the default 1e-5 is): then a deviation exceeds
  // it exactly when its bin is above the tolerance's.
  const int tolBin = devBin(std::nextafter(p.tolerance, INFINITY)) == devBin(p.tolerance) + 1 ? devBin(p.tolerance) : -1;
  auto onGridKernel = tolBin >= 0 ? verifyOnGridKernel<true> : verifyOnGridKernel<false>;
  const void* chosen = onGridPass ? (const void*)onGridKernel : (const void*)kernel;
  auto known = c.blocksPerSm.find({chosen, shmem});
  if (known == c.blocksPerSm.end()) {
    // The on-grid pass's rows take it past the 48 KiB a kernel gets without asking: allow the
    // kernel the device's most (the same value each time), so no size needs asking again.
    int dev = 0, most = 0;
    check(cudaGetDevice(&dev), "device");
    check(cudaDeviceGetAttribute(&most, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), "shared memory limit");
    cudaFuncAttributes fa{};
    check(cudaFuncGetAttributes(&fa, chosen), "kernel attributes");
    check(cudaFuncSetAttribute(chosen, cudaFuncAttributeMaxDynamicSharedMemorySize, most - (int)fa.sharedSizeBytes), "shared memory size");
    int fit = 1;
    check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fit, chosen, 256, shmem), "occupancy");
    known = c.blocksPerSm.emplace(std::make_pair(chosen, shmem), fit).first;
  }
  const int perSm = known->second;
  const long long groups = (n + 3) / 4;
  const int blocks = (int)std::max<long long>(1, std::min<long long>((groups + (onGridPass ? 511 : 255)) / (onGridPass ? 512 : 256), (long long)smCount() * std::max(1, perSm)));
  const size_t resultBytes = (sizeof(DevResult) + 15) / 16 * 16;
  // The on-grid pass accumulates on-grid codes and the others' (rows summed) over the window, then row totals.
  const HistLayout lay{onGridPass ? cs.window : 0, bins};
  grow(c.result, c.resultCap, resultBytes + lay.slots() * 8, "alloc result");
  grow(c.parts, c.partsCap, (size_t)blocks, "alloc partial results");
  grow(c.blockWorst, c.blockWorstCap, (size_t)blocks * std::max(1, fusedK), "alloc worst lists");
  if (lay.slots() > c.histCap) {
    grow(c.hist, c.histCap, lay.slots(), "alloc histograms");
    c.histZero = false;
  }
  if (!c.histZero) check(cudaMemsetAsync(c.hist, 0, c.histCap * 8), "init histograms");
  c.histZero = false;  // until this call has read them back
  unsigned long long* hist = c.hist;
  if (onGridPass) onGridKernel<<<blocks, 256, shmem>>>(dx, n, kp, bins, fusedK, maxGridDev, c.parts, c.blockWorst, hist, hist + cs.window);
  else kernel<<<blocks, 256, shmem>>>(dx, n, kp, bins, fusedK, c.parts, c.blockWorst, hist);
  check(cudaGetLastError(), "verify kernel");
  auto* res = reinterpret_cast<DevResult*>(c.result);
  finalizeKernel<<<1, 256>>>(c.parts, blocks, c.blockWorst, fusedK, res, hist, lay, reinterpret_cast<unsigned long long*>(c.result + resultBytes));
  check(cudaGetLastError(), "finalize kernel");
  const size_t hostBytes = resultBytes + lay.slots() * 8;
  if (hostBytes > c.hostResultCap) {
    if (c.hostResult) cudaFreeHost(c.hostResult);
    c.hostResult = nullptr; c.hostResultCap = 0;
    check(cudaMallocHost(&c.hostResult, hostBytes), "alloc pinned result");
    c.hostResultCap = hostBytes;
  }
  const unsigned char* host = c.hostResult;
  check(cudaMemcpy(c.hostResult, c.result, hostBytes, cudaMemcpyDeviceToHost), "read result");
  c.histZero = true;
  DevResult r; memcpy(&r, host, sizeof r);
  const Part& h = r.part;
  std::vector<uint64_t> codes(bins);
  OutOfRangeCodes oor{h.oorLo, h.oorHi, h.oorSum, h.oorSum2, h.oorMin, h.oorMax};
  uint64_t nan = h.nan, inf = h.inf;
  std::vector<uint64_t> onGrid;  // the on-grid pass: on-grid elements by code, over the window
  uint64_t denseOff = 0, denseTol = 0, denseDevHist[kDevBins] = {};
  if (onGridPass) {
    const auto* slots = reinterpret_cast<const uint64_t*>(host + resultBytes);  // HistLayout's order
    onGrid.assign(slots, slots + cs.window);
    const uint64_t* others = slots + cs.window;  // the other rows' counts by code, summed
    const uint64_t* rowTotals = others + cs.window;
    // The non-finite row is the per-element path's codes: their statistics are counted already.
    for (int k = 0; k < kDevBins; k++) {
      denseDevHist[k] = rowTotals[k];
      denseOff += rowTotals[k];
      if (tolBin >= 0 && k > tolBin) denseTol += rowTotals[k];
    }
    const int first = p.qmin - kCodeWindow;
    for (int i = 0; i < cs.window; i++) {
      const uint64_t cnt = onGrid[i] + others[i];
      const int b = i - kCodeWindow;
      if (b >= 0 && b < bins) { codes[b] = cnt; continue; }
      if (!cnt) continue;
      const double q = first + i;  // an out-of-range code within the window
      (b < 0 ? oor.lo : oor.hi) += cnt;
      oor.sum += (double)cnt * q; oor.sum2 += (double)cnt * q * q;  // integer-valued: exact in any order
      oor.min = std::min(oor.min, q); oor.max = std::max(oor.max, q);
    }
    const uint64_t* nonFiniteExtra = rowTotals + kOtherRows;  // the non-finite row's spare and Inf slots
    const uint64_t denseNonFinite = nonFiniteExtra[cs.spareSlot() - cs.window], denseInf = nonFiniteExtra[cs.infSlot() - cs.window];
    nan += denseNonFinite - denseInf; inf += denseInf;
  } else {
    memcpy(codes.data(), host + resultBytes, (size_t)bins * 8);
  }
  GridAcc part;
  addCodes(part, codes.data(), p.qmin, bins, oor, (uint64_t)n - nan - inf);
  part.nan = nan; part.inf = inf;
  part.offTol = h.offTol + denseTol; part.artifacts = h.artifacts; part.offGrid = h.offGrid + denseOff;
  part.maxDev = h.maxDev; part.maxRecon = h.maxRecon;
  for (int i = 0; i < kDevBins; i++) part.devHist[i] = h.devHist[i] + denseDevHist[i];
  // The on-grid elements counted by code: their deviation is their code's (reconstruction error 0).
  if (onGridPass) addOnGridCounts(part, onGrid.data(), windowDev.data(), cs.window, p.tolerance);
  for (int i = 0; i < fusedK; i++) {
    const Entry& e = r.worst[i];
    if (e.idx < 0) break;
    part.worst.push_back(Worst{e.idx, e.value, e.q, entryDev(e), entryClass(e)});
  }
  if (K > kMaxFusedK) worstByThreshold(dx, n, kp, blocksFor(n, smCount()), K, part);
  out.merge(part, K);
}

void cudaVerify(const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& out, int64_t launchElements) {
  Context& c = ctx();
  std::lock_guard<std::mutex> lock(deviceMutex());
  grow(c.x, c.xCap, (size_t)std::max<int64_t>(n, 1), "alloc input");
  check(cudaMemcpy(c.x, x, n * sizeof(float), cudaMemcpyHostToDevice), "copy input");
  cudaVerifyDevice(c.x, n, start, p, out, launchElements);
}
}  // namespace ql
