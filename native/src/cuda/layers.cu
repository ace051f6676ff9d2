// The layer kernels: conv1d (+ bias + SiLU), the W8A8 linear and the selective scan, each equal to
// its CPU version bit for bit (the same detmath.hpp operations, built with --fmad=false).
#include "common.cuh"

namespace ql {

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
        if (src >= 0) acc += (int)w[k] * codeToInt(quantizeCode(p.x[row + src], p.inputScale));
      }
      acc = (int)((unsigned)acc + (unsigned)p.bias[d]);  // wraps as an int32 accumulator does (as on the CPU)
      const float y = __fmul_rn((float)acc, p.biasScale);
      inQ[i] = (int8_t)codeToInt(quantizeCode(p.x[i], p.inputScale));
      outQ[i] = (int8_t)codeToInt(quantizeCode(siluD(y), p.outputScale));
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
  std::lock_guard<std::mutex> lock(deviceMutex());
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
  conv1dKernel<<<blocksFor((long long)n, smCount()), 256>>>(dp, inQ, outQ, inSim, outSim, ssm);
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

// The W8A8 linear with linearOutput's operations (layers.hpp; k in order for FP32), tiled: a block
// computes 16 rows x 16 outputs, staging 64-wide slices of the codes and the weights in shared memory
// so that global reads are coalesced and each is reused 16 times. The integer sum is exact in any order;
// the FP32 sum keeps each thread's k order, so the result is the CPU's bit for bit.
constexpr int kLinT = 16, kLinN = 16, kLinK = 64;
__global__ void linearTiledKernel(Mode mode, const float* codes, const int8_t* w, const int32_t* bias, const float* scales, int perRow,
                                  long long T, long long K, long long N, float sx, float* y) {
  __shared__ float sC[kLinT][kLinK];
  __shared__ int8_t sW[kLinN][kLinK + 4];  // +4: rows land in different banks
  const int tx = threadIdx.x % kLinN, ty = threadIdx.x / kLinN;
  const long long t = blockIdx.x * (long long)kLinT + ty, n = blockIdx.y * (long long)kLinN + tx;
  const float sw = scales[perRow && n < N ? n : 0];
  unsigned accI = 0;
  float accF = 0.0f;
  for (long long k0 = 0; k0 < K; k0 += kLinK) {
    for (int i = threadIdx.x; i < kLinT * kLinK; i += blockDim.x) {
      const int r = i / kLinK, c = i % kLinK;
      const long long tt = blockIdx.x * (long long)kLinT + r, kk = k0 + c;
      sC[r][c] = tt < T && kk < K ? codes[tt * K + kk] : 0.0f;
    }
    for (int i = threadIdx.x; i < kLinN * kLinK; i += blockDim.x) {
      const int r = i / kLinK, c = i % kLinK;
      const long long nn = blockIdx.y * (long long)kLinN + r, kk = k0 + c;
      sW[r][c] = nn < N && kk < K ? w[nn * K + kk] : (int8_t)0;
    }
    __syncthreads();
    const int kmax = (int)(K - k0 < kLinK ? K - k0 : kLinK);
    if (mode == Mode::Baseline) {
      for (int k = 0; k < kmax; k++) accI += (unsigned)(codeToInt(sC[ty][k]) * (int)sW[tx][k]);
    } else {
      for (int k = 0; k < kmax; k++) accF = __fadd_rn(accF, __fmul_rn(__fmul_rn(sC[ty][k], sx), __fmul_rn((float)sW[tx][k], sw)));
    }
    __syncthreads();
  }
  if (t >= T || n >= N) return;
  const float sb = __fmul_rn(sx, sw);
  if (mode == Mode::Baseline) {
    if (bias) accI += (unsigned)bias[n];
    y[t * N + n] = __fmul_rn((float)(int)accI, sb);
  } else {
    if (bias) accF = __fadd_rn(accF, __fmul_rn((float)bias[n], sb));
    y[t * N + n] = accF;
  }
}

inline void launchLinear(Mode mode, const float* codes, const int8_t* w, const int32_t* bias, const float* scales, int perRow,
                         long long T, long long K, long long N, float sx, float* y) {
  const dim3 grid((unsigned)((T + kLinT - 1) / kLinT), (unsigned)((N + kLinN - 1) / kLinN));
  linearTiledKernel<<<grid, kLinT * kLinN>>>(mode, codes, w, bias, scales, perRow, T, K, N, sx, y);
}

// The scan as first written: one thread per channel runs scanChannel (layers.hpp) over all of time.
// Kept as the benchmark's reference point for the tiled kernel below, which gives the same bits.
__global__ void scanPerChannelKernel(ScanProblem p, const float* dt, float* y) {
  const long long d = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (d >= p.D) return;
  float h[64];
  scanChannel(p, dt, h, d, y);
}

// The scan parallel over time as well as over channels and states, with scanChannel's operations in
// its order, so the result is the CPU's bit for bit. A block takes kScanLanes recurrences (channels x
// states) through time in tiles of kScanT steps:
//   A (all threads, parallel over t): dA = exp(dt*A) and the input term (dt*B)*u of every step;
//   B (one thread per recurrence): only h = dA*h + x stays sequential, and h*C is kept per step;
//   C (all threads, parallel over t): y = sum over states in order, + u*D, * silu(z).
// A chunked or associative scan would reassociate the recurrence and change its rounding; here
// only the two dependent operations per step are serial, everything else is spread over the block.
constexpr int kScanT = 60, kScanLanes = 64;  // three [64][61] float tiles fit the 48 KB of static shared memory
// 64 lanes per block measured best on the H100 (0.445 ms at D=1536 L=2048 S=16, against 0.473 with
// 32 lanes and 0.595 with 16): each block's serial phase is short enough, and there are enough blocks.
__global__ void __launch_bounds__(kScanLanes * 4) scanTiledKernel(ScanProblem p, const float* dt, float* y) {
  __shared__ float sA[kScanLanes][kScanT + 1];  // dA; +1: lanes land in different banks
  __shared__ float sX[kScanLanes][kScanT + 1];  // the input term, then h*C of each step
  __shared__ float sC[kScanLanes][kScanT + 1];  // C of each state and step
  const int S = (int)p.S, C = kScanLanes / S, lanes = C * S;
  const long long d0 = blockIdx.x * (long long)C;
  float h = 0.0f;
  for (long long t0 = 0; t0 < p.L; t0 += kScanT) {
    const int T = (int)(p.L - t0 < kScanT ? p.L - t0 : kScanT);
    for (int i = threadIdx.x; i < lanes * kScanT; i += blockDim.x) {
      const int r = i / kScanT, t = i % kScanT, c = r / S, s = r % S;
      const long long d = d0 + c, tg = t0 + t;
      if (t >= T || d >= p.D) continue;
      const float dtv = dt[d * p.L + tg];
      sA[r][t] = expDet(__fmul_rn(dtv, p.A[d * p.S + s]));
      sX[r][t] = __fmul_rn(__fmul_rn(dtv, p.Bm[s * p.L + tg]), p.u[d * p.L + tg]);
    }
    for (int i = threadIdx.x; i < S * kScanT; i += blockDim.x) {
      const int s = i / kScanT, t = i % kScanT;
      if (t < T) sC[s][t] = p.Cm[s * p.L + t0 + t];
    }
    __syncthreads();
    if (threadIdx.x < lanes && d0 + threadIdx.x / S < p.D) {
      const int r = threadIdx.x, s = r % S;
      for (int t = 0; t < T; t++) {
        h = __fadd_rn(__fmul_rn(sA[r][t], h), sX[r][t]);
        sX[r][t] = __fmul_rn(h, sC[s][t]);
      }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < C * kScanT; i += blockDim.x) {
      const int c = i / kScanT, t = i % kScanT;
      const long long d = d0 + c, tg = t0 + t;
      if (t >= T || d >= p.D) continue;
      float out = 0.0f;
      for (int s = 0; s < S; s++) out = __fadd_rn(out, sX[c * S + s][t]);
      const float u = p.u[d * p.L + tg];
      if (p.Dskip) out = __fadd_rn(out, __fmul_rn(u, p.Dskip[d]));
      if (p.z) out = __fmul_rn(out, siluDet(p.z[d * p.L + tg]));
      y[d * p.L + tg] = out;
    }
    __syncthreads();
  }
}

template <typename T> T* toDevice(const T* host, size_t n, std::vector<void*>& owned) {
  if (!host) return nullptr;
  T* d = nullptr;
  check(cudaMalloc(&d, n * sizeof(T)), "alloc");
  owned.push_back(d);
  check(cudaMemcpy(d, host, n * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
  return d;
}

// A linear's operands on the device, and the two kernels that compute it there.
struct LinearOnDevice { const float* x; const int8_t* w; const int32_t* bias; const float* scales; float* codes; float* y; };

static LinearOnDevice linearToDevice(const LinearProblem& p, std::vector<void*>& owned) {
  LinearOnDevice d{};
  d.x = toDevice(p.x, (size_t)(p.T * p.K), owned);
  d.w = toDevice(p.w, (size_t)(p.N * p.K), owned);
  d.bias = toDevice(p.bias, (size_t)p.N, owned);
  d.scales = toDevice(p.weightScales.data(), p.weightScales.size(), owned);
  check(cudaMalloc(&d.codes, (size_t)(p.T * p.K) * 4), "alloc codes"); owned.push_back(d.codes);
  check(cudaMalloc(&d.y, (size_t)(p.T * p.N) * 4), "alloc y"); owned.push_back(d.y);
  return d;
}

static void linearOnDevice(const LinearProblem& p, const LinearOnDevice& d) {
  quantizeRowsKernel<<<blocksFor(p.T * p.K, smCount()), 256>>>(d.x, p.T * p.K, p.inputScale, d.codes);
  launchLinear(p.mode, d.codes, d.w, d.bias, d.scales, p.weightScales.size() > 1, p.T, p.K, p.N, p.inputScale, d.y);
}

void cudaLinear(const LinearProblem& p, std::vector<float>& y) {
  std::lock_guard<std::mutex> lock(deviceMutex());
  std::vector<void*> owned;
  const LinearOnDevice d = linearToDevice(p, owned);
  linearOnDevice(p, d);
  check(cudaGetLastError(), "linear kernel");
  y.resize((size_t)(p.T * p.N));
  check(cudaMemcpy(y.data(), d.y, y.size() * 4, cudaMemcpyDeviceToHost), "read y");
  for (void* ptr : owned) cudaFree(ptr);
}

// A scan's operands on the device (dt already through softplus on the host), and its kernel there.
struct ScanOnDevice { ScanProblem p; const float* dt; float* y; };

static ScanOnDevice scanToDevice(const ScanProblem& p, const std::vector<float>& dt, std::vector<void*>& owned) {
  if (p.S > kScanLanes) throw std::runtime_error("the CUDA scan keeps at most 64 states per channel");
  const size_t DL = (size_t)(p.D * p.L), SL = (size_t)(p.S * p.L);
  ScanOnDevice d{p, nullptr, nullptr};
  d.p.u = toDevice(p.u, DL, owned); d.p.delta = nullptr; d.p.A = toDevice(p.A, (size_t)(p.D * p.S), owned);
  d.p.Bm = toDevice(p.Bm, SL, owned); d.p.Cm = toDevice(p.Cm, SL, owned); d.p.Dskip = toDevice(p.Dskip, (size_t)p.D, owned);
  d.p.z = toDevice(p.z, DL, owned); d.p.deltaBias = nullptr;
  d.dt = toDevice(dt.data(), DL, owned);
  check(cudaMalloc(&d.y, DL * 4), "alloc y"); owned.push_back(d.y);
  return d;
}

static void scanOnDevice(const ScanOnDevice& d, ScanKernel kernel = ScanKernel::Tiled) {
  if (kernel == ScanKernel::PerChannel) {
    scanPerChannelKernel<<<(unsigned)((d.p.D + 127) / 128), 128>>>(d.p, d.dt, d.y);
    return;
  }
  const long long perBlock = kScanLanes / d.p.S;
  const unsigned blocks = (unsigned)((d.p.D + perBlock - 1) / perBlock);
  scanTiledKernel<<<blocks, kScanLanes * 4>>>(d.p, d.dt, d.y);
}

void cudaScan(const ScanProblem& p, std::vector<float>& y) {
  std::vector<float> dt;
  scanDeltas(p, dt);  // softplus on the host: the CPU's log1p, so both devices see the same dt
  std::lock_guard<std::mutex> lock(deviceMutex());
  std::vector<void*> owned;
  const ScanOnDevice d = scanToDevice(p, dt, owned);
  scanOnDevice(d);
  check(cudaGetLastError(), "scan kernel");
  y.resize((size_t)(p.D * p.L));
  check(cudaMemcpy(y.data(), d.y, y.size() * 4, cudaMemcpyDeviceToHost), "read y");
  for (void* ptr : owned) cudaFree(ptr);
}

// ---- device-resident timing (benchmarks): operands copied once, only the kernels timed ----

namespace {
template <typename F> double timeKernels(int reps, F launch) {
  cudaEvent_t a, b;
  cudaEventCreate(&a); cudaEventCreate(&b);
  launch();  // warm-up
  check(cudaDeviceSynchronize(), "warm-up");
  cudaEventRecord(a);
  for (int r = 0; r < reps; r++) launch();
  cudaEventRecord(b);
  check(cudaEventSynchronize(b), "timed kernels");
  float ms = 0;
  cudaEventElapsedTime(&ms, a, b);
  cudaEventDestroy(a); cudaEventDestroy(b);
  return ms / reps;
}
}  // namespace

double cudaTimeConv1dResident(const Conv1dProblem& prob, int reps) {
  std::lock_guard<std::mutex> lock(deviceMutex());
  std::vector<void*> owned;
  const size_t n = (size_t)(prob.B * prob.D * prob.L);
  Conv1dProblem dp = prob;
  dp.x = toDevice(prob.x, n, owned); dp.w = toDevice(prob.w, (size_t)(prob.D * prob.K), owned); dp.bias = toDevice(prob.bias, (size_t)prob.D, owned);
  const bool base = prob.mode == Mode::Baseline;
  void *a = nullptr, *b = nullptr, *c = nullptr;
  check(cudaMalloc(&a, n * 4), "alloc"); owned.push_back(a);
  check(cudaMalloc(&b, n * 4), "alloc"); owned.push_back(b);
  check(cudaMalloc(&c, n * 4), "alloc"); owned.push_back(c);
  const double ms = timeKernels(reps, [&] {
    if (base) conv1dKernel<<<blocksFor((long long)n, smCount()), 256>>>(dp, (int8_t*)a, (int8_t*)b, nullptr, nullptr, nullptr);
    else conv1dKernel<<<blocksFor((long long)n, smCount()), 256>>>(dp, nullptr, nullptr, (float*)a, (float*)b, (float*)c);
  });
  for (void* ptr : owned) cudaFree(ptr);
  return ms;
}

double cudaTimeLinearResident(const LinearProblem& p, int reps) {
  std::lock_guard<std::mutex> lock(deviceMutex());
  std::vector<void*> owned;
  const LinearOnDevice d = linearToDevice(p, owned);
  const double ms = timeKernels(reps, [&] { linearOnDevice(p, d); });
  for (void* ptr : owned) cudaFree(ptr);
  return ms;
}

double cudaTimeScanResident(const ScanProblem& p, int reps, ScanKernel kernel) {
  std::vector<float> dt;
  scanDeltas(p, dt);
  std::lock_guard<std::mutex> lock(deviceMutex());
  std::vector<void*> owned;
  const ScanOnDevice d = scanToDevice(p, dt, owned);
  const double ms = timeKernels(reps, [&] { scanOnDevice(d, kernel); });
  for (void* ptr : owned) cudaFree(ptr);
  return ms;
}

}  // namespace ql
