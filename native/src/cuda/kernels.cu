// CUDA versions of the grid verification and conv1d kernels. Results are identical to the CPU's:
// the same IEEE single-precision operations (__fdiv_rn, __fmul_rn, rintf, no FMA contraction:
// built with --fmad=false), integer-valued sums that are exact in double in any order, and an
// exact top-K selection (same ordering, ties broken by lowest index).
#include <cuda_runtime.h>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>
#include "../cuda_api.hpp"
#include "../detmath.hpp"

namespace ql {

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

struct DevAcc {
  unsigned long long n, nan, inf, offTol, artifacts, offGrid, outOfRange, satPos, satNeg;
  double sumQ, sumQ2;
  int qMinKey, qMaxKey;        // order-preserving int keys of float q
  int maxDevBits, maxReconBits;  // non-negative floats compare as ints
  unsigned long long devHist[kDevBins];
};

__device__ __forceinline__ int floatKey(float f) { int k = __float_as_int(f); return k >= 0 ? k : k ^ 0x7fffffff; }
__host__ __device__ inline float keyFloat(int k) {
  int b = k >= 0 ? k : k ^ 0x7fffffff;
  float f; memcpy(&f, &b, 4); return f;
}

struct KParams {
  const float* scales; const int32_t* zps; int channels; long long inner; long long start;
  int qmin, qmax; float tol; bool codes;
};

// Per-element classification shared by all passes: identical arithmetic to grid.cpp.
struct Elem { float q, dev, recon; uint8_t cls; bool finite; };

__device__ __forceinline__ Elem classify(float v, long long flat, const KParams& p) {
  Elem e;
  if (!isfinite(v)) { e.finite = false; e.cls = kNonFinite; e.q = 0; e.dev = 0; e.recon = 0; return e; }
  e.finite = true;
  if (p.codes) { e.q = v; e.dev = 0; e.recon = 0; e.cls = kExact; return e; }
  const int c = p.channels > 1 ? (int)((flat / p.inner) % p.channels) : 0;
  const float s = p.scales[c];
  const float r = __fdiv_rn(v, s);
  const float qr = rintf(r);
  e.dev = fabsf(__fsub_rn(r, qr));
  const float back = __fmul_rn(qr, s);
  e.recon = fabsf(__fsub_rn(back, v));
  e.cls = back == v ? (e.dev == 0.0f ? kExact : kFp32Artifact) : kOffGrid;
  e.q = __fadd_rn(qr, (float)p.zps[c]);
  return e;
}

// Ranking key for the worst list: class tier above deviation (worseThan in grid.hpp).
__device__ __forceinline__ unsigned long long rankKey(const Elem& e) {
  const unsigned tier = e.cls == kNonFinite ? 3u : e.cls == kOffGrid ? 2u : (e.cls == kFp32Artifact || e.dev > 0.0f) ? 1u : 0u;
  return ((unsigned long long)tier << 32) | (unsigned)__float_as_int(e.dev);
}

// Key histogram for the top-K threshold: bins over the high bits of the rank key (tier, then the
// deviation's exponent and top mantissa bits). Bin 0 (exact, zero deviation) is never counted.
constexpr int kKeyBins = 4096;
__device__ __forceinline__ int keyBin(unsigned long long key) {
  return (int)((key >> 32) << 10) | (int)(((unsigned)key >> 21) & 1023u);
}
__host__ __device__ inline unsigned long long keyBinLow(int bin) {
  return ((unsigned long long)(bin >> 10) << 32) | ((unsigned long long)(bin & 1023) << 21);
}

constexpr int kWarps = 8;  // 256 threads

__global__ void __launch_bounds__(256) statsKernel(const float* __restrict__ x, long long n, KParams p, DevAcc* acc,
                                                   unsigned long long* codeHist, int bins, unsigned long long* keyHist) {
  // Per-warp code histograms (32-bit shared counters: contention only within a warp), one key histogram.
  extern __shared__ unsigned int sh[];
  unsigned int* keyH = sh + kWarps * bins;
  for (int i = threadIdx.x; i < kWarps * bins + kKeyBins; i += blockDim.x) sh[i] = 0;
  __syncthreads();
  unsigned int* myHist = sh + (threadIdx.x >> 5) * bins;
  unsigned long long cn = 0, cnan = 0, cinf = 0, ctol = 0, cart = 0, coff = 0, coor = 0, csp = 0, csn = 0;
  unsigned int dh[kDevBins] = {};
  double sq = 0, sq2 = 0;
  float qmin = INFINITY, qmax = -INFINITY, mdev = 0, mrec = 0;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    const float v = x[i];
    const Elem e = classify(v, p.start + i, p);
    const unsigned long long key = rankKey(e);
    if (key) atomicAdd(&keyH[keyBin(key)], 1u);
    if (!e.finite) { if (isnan(v)) cnan++; else cinf++; continue; }
    cn++;
    ctol += e.dev > p.tol;
    cart += e.cls == kFp32Artifact;
    coff += e.cls == kOffGrid;
    mdev = fmaxf(mdev, e.dev);
    mrec = fmaxf(mrec, e.recon);
    const int db = devBin(e.dev);
#pragma unroll
    for (int k = 0; k < kDevBins; k++) dh[k] += db == k;
    const double qd = e.q;
    sq += qd; sq2 += qd * qd;
    qmin = fminf(qmin, e.q); qmax = fmaxf(qmax, e.q);
    csp += e.q >= (float)p.qmax;
    csn += e.q <= (float)p.qmin;
    if (e.q < (float)p.qmin || e.q > (float)p.qmax) coor++;
    else atomicAdd(&myHist[(int)e.q - p.qmin], 1u);
  }
  for (int off = 16; off > 0; off >>= 1) {
    cn += __shfl_down_sync(0xffffffff, cn, off); cnan += __shfl_down_sync(0xffffffff, cnan, off);
    cinf += __shfl_down_sync(0xffffffff, cinf, off); ctol += __shfl_down_sync(0xffffffff, ctol, off);
    cart += __shfl_down_sync(0xffffffff, cart, off); coff += __shfl_down_sync(0xffffffff, coff, off);
    coor += __shfl_down_sync(0xffffffff, coor, off); csp += __shfl_down_sync(0xffffffff, csp, off);
    csn += __shfl_down_sync(0xffffffff, csn, off);
    sq += __shfl_down_sync(0xffffffff, sq, off); sq2 += __shfl_down_sync(0xffffffff, sq2, off);
    qmin = fminf(qmin, __shfl_down_sync(0xffffffff, qmin, off)); qmax = fmaxf(qmax, __shfl_down_sync(0xffffffff, qmax, off));
    mdev = fmaxf(mdev, __shfl_down_sync(0xffffffff, mdev, off)); mrec = fmaxf(mrec, __shfl_down_sync(0xffffffff, mrec, off));
#pragma unroll
    for (int k = 0; k < kDevBins; k++) dh[k] += __shfl_down_sync(0xffffffff, dh[k], off);
  }
  if ((threadIdx.x & 31) == 0) {
    atomicAdd(&acc->n, cn); atomicAdd(&acc->nan, cnan); atomicAdd(&acc->inf, cinf); atomicAdd(&acc->offTol, ctol);
    atomicAdd(&acc->artifacts, cart); atomicAdd(&acc->offGrid, coff); atomicAdd(&acc->outOfRange, coor);
    atomicAdd(&acc->satPos, csp); atomicAdd(&acc->satNeg, csn);
    atomicAdd(&acc->sumQ, sq); atomicAdd(&acc->sumQ2, sq2);  // integer-valued: exact in any order
    if (cn) { atomicMin(&acc->qMinKey, floatKey(qmin)); atomicMax(&acc->qMaxKey, floatKey(qmax)); }
    atomicMax(&acc->maxDevBits, __float_as_int(mdev)); atomicMax(&acc->maxReconBits, __float_as_int(mrec));
    for (int k = 0; k < kDevBins; k++) if (dh[k]) atomicAdd(&acc->devHist[k], (unsigned long long)dh[k]);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < bins; i += blockDim.x) {
    unsigned long long t = 0;
    for (int w = 0; w < kWarps; w++) t += sh[w * bins + i];
    if (t) atomicAdd(&codeHist[i], t);
  }
  for (int i = threadIdx.x; i < kKeyBins; i += blockDim.x) if (keyH[i]) atomicAdd(&keyHist[i], (unsigned long long)keyH[i]);
}

// Counts elements whose key > keyLo, or == keyLo with index < idxHi (for exact tie-breaking).
__global__ void countKernel(const float* __restrict__ x, long long n, KParams p, unsigned long long keyLo, long long idxHi, unsigned long long* count) {
  unsigned long long c = 0;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    const unsigned long long k = rankKey(classify(x[i], p.start + i, p));
    if (k > keyLo || (k == keyLo && i < idxHi)) c++;
  }
  for (int off = 16; off > 0; off >>= 1) c += __shfl_down_sync(0xffffffff, c, off);
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
  std::mutex mu;
  float* x = nullptr; size_t xCap = 0;
  float* scales = nullptr; size_t scalesCap = 0;
  int32_t* zps = nullptr; size_t zpsCap = 0;
  DevAcc* acc = nullptr; unsigned long long* hist = nullptr; size_t histCap = 0;
  unsigned long long* count = nullptr;
  unsigned long long* keyHist = nullptr;
  Worst* cand = nullptr; size_t candCap = 0;
  int sms = 0;
};

Context& ctx() { static Context c; return c; }

template <typename T> void grow(T*& ptr, size_t& cap, size_t need, const char* what) {
  if (need <= cap) return;
  if (ptr) cudaFree(ptr);
  ptr = nullptr;
  check(cudaMalloc(&ptr, need * sizeof(T)), what);
  cap = need;
}

int blocksFor(long long n, int sms) {
  const long long b = (n + 255) / 256;
  return (int)std::max<long long>(1, std::min<long long>(b, (long long)sms * 8));
}

}  // namespace

bool cudaCompiled() { return true; }

bool cudaAvailable() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

std::string cudaDeviceName() {
  if (!cudaAvailable()) return "";
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "";
  return prop.name;
}

// Verifies device-resident data; used by cudaVerify and by the benchmarks (data already on the GPU).
void cudaVerifyDevice(const float* dx, int64_t n, int64_t start, const GridParams& p, GridAcc& out) {
  Context& c = ctx();
  if (!c.sms) { int dev = 0; cudaGetDevice(&dev); cudaDeviceGetAttribute(&c.sms, cudaDevAttrMultiProcessorCount, dev); }
  const int bins = p.qmax - p.qmin + 1;
  grow(c.scales, c.scalesCap, p.scales.size(), "alloc scales");
  grow(c.zps, c.zpsCap, p.scales.size(), "alloc zero points");
  check(cudaMemcpy(c.scales, p.scales.data(), p.scales.size() * 4, cudaMemcpyHostToDevice), "copy scales");
  check(cudaMemcpy(c.zps, p.zeroPoints.data(), p.scales.size() * 4, cudaMemcpyHostToDevice), "copy zero points");
  if (!c.acc) check(cudaMalloc(&c.acc, sizeof(DevAcc)), "alloc acc");
  if (!c.count) check(cudaMalloc(&c.count, sizeof(unsigned long long)), "alloc count");
  if (!c.keyHist) check(cudaMalloc(&c.keyHist, kKeyBins * sizeof(unsigned long long)), "alloc key histogram");
  check(cudaMemset(c.keyHist, 0, kKeyBins * sizeof(unsigned long long)), "init key histogram");
  grow(c.hist, c.histCap, (size_t)bins, "alloc histogram");
  DevAcc init{};
  init.qMinKey = 0x7fffffff; init.qMaxKey = (int)0x80000000;
  check(cudaMemcpy(c.acc, &init, sizeof init, cudaMemcpyHostToDevice), "init acc");
  check(cudaMemset(c.hist, 0, bins * sizeof(unsigned long long)), "init histogram");
  KParams kp{c.scales, c.zps, (int)p.scales.size(), p.inner, start, p.qmin, p.qmax, p.tolerance, p.inputIsCodes};
  const int blocks = blocksFor(n, c.sms);
  const size_t shmem = (kWarps * (size_t)bins + kKeyBins) * sizeof(unsigned int);
  if (shmem > 48 * 1024) throw std::runtime_error("integer range too wide for the CUDA histogram");
  statsKernel<<<blocks, 256, shmem>>>(dx, n, kp, c.acc, c.hist, bins, c.keyHist);
  check(cudaGetLastError(), "stats kernel");
  DevAcc h;
  check(cudaMemcpy(&h, c.acc, sizeof h, cudaMemcpyDeviceToHost), "read acc");
  GridAcc part;
  part.n = h.n; part.nan = h.nan; part.inf = h.inf; part.offTol = h.offTol; part.artifacts = h.artifacts; part.offGrid = h.offGrid;
  part.outOfRange = h.outOfRange; part.satPos = h.satPos; part.satNeg = h.satNeg; part.sumQ = h.sumQ; part.sumQ2 = h.sumQ2;
  part.any = h.n > 0;
  part.qMin = part.any ? keyFloat(h.qMinKey) : 0; part.qMax = part.any ? keyFloat(h.qMaxKey) : 0;
  int b1 = h.maxDevBits, b2 = h.maxReconBits;
  memcpy(&part.maxDev, &b1, 4); memcpy(&part.maxRecon, &b2, 4);
  for (int i = 0; i < kDevBins; i++) part.devHist[i] = h.devHist[i];
  part.codeHist.resize(bins);
  check(cudaMemcpy(part.codeHist.data(), c.hist, bins * sizeof(unsigned long long), cudaMemcpyDeviceToHost), "read histogram");

  // Exact top-K of elements ranked above "exact, zero deviation" (tier 0 never enters the list).
  const int K = p.worstK;
  if (K > 0) {
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
  out.merge(part, K);
}

void cudaVerify(const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& out) {
  Context& c = ctx();
  std::lock_guard<std::mutex> lock(c.mu);
  grow(c.x, c.xCap, (size_t)std::max<int64_t>(n, 1), "alloc input");
  check(cudaMemcpy(c.x, x, n * sizeof(float), cudaMemcpyHostToDevice), "copy input");
  cudaVerifyDevice(c.x, n, start, p, out);
}

BenchResult cudaBenchVerify(const float* x, int64_t n, const GridParams& p, int iters) {
  float* dx = nullptr;
  check(cudaMalloc(&dx, n * sizeof(float)), "alloc bench input");
  check(cudaMemcpy(dx, x, n * sizeof(float), cudaMemcpyHostToDevice), "copy bench input");
  GridAcc warm; cudaVerifyDevice(dx, n, 0, p, warm);
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  cudaEventRecord(a);
  for (int i = 0; i < iters; i++) { GridAcc acc; cudaVerifyDevice(dx, n, 0, p, acc); }
  cudaEventRecord(b); cudaEventSynchronize(b);
  float ms = 0; cudaEventElapsedTime(&ms, a, b);
  cudaFree(dx);
  int dev = 0, memClockKhz = 0, busBits = 0;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&memClockKhz, cudaDevAttrMemoryClockRate, dev);
  cudaDeviceGetAttribute(&busBits, cudaDevAttrGlobalMemoryBusWidth, dev);
  const double peak = 2.0 * memClockKhz * 1e3 * (busBits / 8) / 1e9;
  const double per = ms / iters;
  return BenchResult{n * 4.0 / (per * 1e6), peak, per};
}

// ---- conv1d ------------------------------------------------------------------


// The CPU's SiLU, operation for operation (detmath.hpp; built with --fmad=false).
__device__ __forceinline__ float siluD(float y) { return siluDet(y); }

__global__ void conv1dKernel(Conv1dProblem p, int8_t* inQ, int8_t* outQ, float* inSim, float* outSim, float* ssm) {
  const long long total = p.B * p.D * p.L;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
    const long long t = i % p.L, row = i - t, d = (i / p.L) % p.D;
    const int8_t* w = p.w + d * p.K;
    if (p.mode == Mode::Baseline) {
      int acc = 0;
      for (int k = 0; k < p.K; k++) {
        const long long src = t - (p.K - 1) + k;
        if (src >= 0) acc += (int)w[k] * (int)quantizeCode(p.x[row + src], p.inputScale);
      }
      acc += p.bias[d];
      const float y = __fmul_rn((float)acc, p.biasScale);
      inQ[i] = (int8_t)quantizeCode(p.x[i], p.inputScale);
      outQ[i] = (int8_t)quantizeCode(siluD(y), p.outputScale);
    } else {
      float acc = 0.0f;
      for (int k = 0; k < p.K; k++) {
        const long long src = t - (p.K - 1) + k;
        if (src >= 0) {
          const float xs = __fmul_rn(quantizeCode(p.x[row + src], p.inputScale), p.inputScale);
          acc = __fadd_rn(acc, __fmul_rn(__fmul_rn((float)w[k], p.weightScale), xs));
        }
      }
      const float ys = siluD(__fadd_rn(acc, __fmul_rn((float)p.bias[d], p.biasScale)));
      const float grid = __fmul_rn(quantizeCode(ys, p.outputScale), p.outputScale);
      inSim[i] = __fmul_rn(quantizeCode(p.x[i], p.inputScale), p.inputScale);
      outSim[i] = grid;
      ssm[i] = p.mode == Mode::Mode2 ? grid : ys;
    }
  }
}

void cudaConv1d(const Conv1dProblem& prob, Conv1dOutputs& o) {
  Context& c = ctx();
  std::lock_guard<std::mutex> lock(c.mu);
  if (!c.sms) { int dev = 0; cudaGetDevice(&dev); cudaDeviceGetAttribute(&c.sms, cudaDevAttrMultiProcessorCount, dev); }
  const size_t n = (size_t)(prob.B * prob.D * prob.L);
  float* dx; int8_t* dw; int32_t* db; int8_t *inQ = nullptr, *outQ = nullptr; float *inSim = nullptr, *outSim = nullptr, *ssm = nullptr;
  check(cudaMalloc(&dx, n * 4), "alloc x");
  check(cudaMalloc(&dw, prob.D * prob.K), "alloc w");
  check(cudaMalloc(&db, prob.D * 4), "alloc bias");
  cudaMemcpy(dx, prob.x, n * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(dw, prob.w, prob.D * prob.K, cudaMemcpyHostToDevice);
  cudaMemcpy(db, prob.bias, prob.D * 4, cudaMemcpyHostToDevice);
  const bool base = prob.mode == Mode::Baseline;
  if (base) { check(cudaMalloc(&inQ, n), "alloc"); check(cudaMalloc(&outQ, n), "alloc"); }
  else { check(cudaMalloc(&inSim, n * 4), "alloc"); check(cudaMalloc(&outSim, n * 4), "alloc"); check(cudaMalloc(&ssm, n * 4), "alloc"); }
  Conv1dProblem dp = prob; dp.x = dx; dp.w = dw; dp.bias = db;
  conv1dKernel<<<blocksFor((long long)n, c.sms), 256>>>(dp, inQ, outQ, inSim, outSim, ssm);
  check(cudaGetLastError(), "conv1d kernel");
  if (base) {
    o.inputQ.resize(n); o.outputQ.resize(n);
    cudaMemcpy(o.inputQ.data(), inQ, n, cudaMemcpyDeviceToHost);
    check(cudaMemcpy(o.outputQ.data(), outQ, n, cudaMemcpyDeviceToHost), "read outputs");
  } else {
    o.inputSim.resize(n); o.outputSim.resize(n); o.ssmInput.resize(n);
    cudaMemcpy(o.inputSim.data(), inSim, n * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(o.outputSim.data(), outSim, n * 4, cudaMemcpyDeviceToHost);
    check(cudaMemcpy(o.ssmInput.data(), ssm, n * 4, cudaMemcpyDeviceToHost), "read outputs");
  }
  for (void* ptr : {(void*)dx, (void*)dw, (void*)db, (void*)inQ, (void*)outQ, (void*)inSim, (void*)outSim, (void*)ssm}) if (ptr) cudaFree(ptr);
}

// ---- W8A8 linear and selective scan ---------------------------------------------------

__global__ void quantizeRowsKernel(const float* x, long long n, float sx, float* codes) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) codes[i] = quantizeCode(x[i], sx);
}

__global__ void linearKernel(Mode mode, const float* codes, const int8_t* w, const int32_t* bias, const float* scales, int perRow,
                             long long T, long long K, long long N, float sx, float* y) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < T * N; i += (long long)gridDim.x * blockDim.x) {
    const long long t = i / N, n = i % N;
    y[i] = linearOutput(mode, codes + t * K, w + n * K, K, sx, scales[perRow ? n : 0], bias ? bias + n : nullptr);
  }
}

__global__ void scanKernel(ScanProblem p, const float* dt, float* y) {
  const long long d = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (d >= p.D) return;
  float h[64];
  scanChannel(p, dt, h, d, y);
}

template <typename T> T* toDevice(const T* host, size_t n, std::vector<void*>& owned) {
  if (!host) return nullptr;
  T* d = nullptr;
  check(cudaMalloc(&d, n * sizeof(T)), "alloc");
  owned.push_back(d);
  check(cudaMemcpy(d, host, n * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
  return d;
}

void cudaLinear(const LinearProblem& p, std::vector<float>& y) {
  Context& c = ctx();
  std::lock_guard<std::mutex> lock(c.mu);
  if (!c.sms) { int dev = 0; cudaGetDevice(&dev); cudaDeviceGetAttribute(&c.sms, cudaDevAttrMultiProcessorCount, dev); }
  std::vector<void*> owned;
  const float* dx = toDevice(p.x, (size_t)(p.T * p.K), owned);
  const int8_t* dw = toDevice(p.w, (size_t)(p.N * p.K), owned);
  const int32_t* db = toDevice(p.bias, (size_t)p.N, owned);
  const float* ds = toDevice(p.weightScales.data(), p.weightScales.size(), owned);
  float* codes = nullptr; float* dy = nullptr;
  check(cudaMalloc(&codes, (size_t)(p.T * p.K) * 4), "alloc codes"); owned.push_back(codes);
  check(cudaMalloc(&dy, (size_t)(p.T * p.N) * 4), "alloc y"); owned.push_back(dy);
  quantizeRowsKernel<<<blocksFor(p.T * p.K, c.sms), 256>>>(dx, p.T * p.K, p.inputScale, codes);
  linearKernel<<<blocksFor(p.T * p.N, c.sms), 256>>>(p.mode, codes, dw, db, ds, p.weightScales.size() > 1, p.T, p.K, p.N, p.inputScale, dy);
  check(cudaGetLastError(), "linear kernel");
  y.resize((size_t)(p.T * p.N));
  check(cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost), "read y");
  for (void* ptr : owned) cudaFree(ptr);
}

void cudaScan(const ScanProblem& p, std::vector<float>& y) {
  if (p.S > 64) throw std::runtime_error("the CUDA scan keeps at most 64 states per channel");
  std::vector<float> dt;
  scanDeltas(p, dt);  // softplus on the host: the CPU's log1p, so both devices see the same dt
  Context& c = ctx();
  std::lock_guard<std::mutex> lock(c.mu);
  std::vector<void*> owned;
  const size_t DL = (size_t)(p.D * p.L), SL = (size_t)(p.S * p.L);
  ScanProblem dp = p;
  dp.u = toDevice(p.u, DL, owned); dp.delta = nullptr; dp.A = toDevice(p.A, (size_t)(p.D * p.S), owned);
  dp.Bm = toDevice(p.Bm, SL, owned); dp.Cm = toDevice(p.Cm, SL, owned); dp.Dskip = toDevice(p.Dskip, (size_t)p.D, owned);
  dp.z = toDevice(p.z, DL, owned); dp.deltaBias = nullptr;
  const float* ddt = toDevice(dt.data(), DL, owned);
  float* dy = nullptr;
  check(cudaMalloc(&dy, DL * 4), "alloc y"); owned.push_back(dy);
  scanKernel<<<(unsigned)((p.D + 127) / 128), 128>>>(dp, ddt, dy);
  check(cudaGetLastError(), "scan kernel");
  y.resize(DL);
  check(cudaMemcpy(y.data(), dy, DL * 4, cudaMemcpyDeviceToHost), "read y");
  for (void* ptr : owned) cudaFree(ptr);
}

}  // namespace ql
