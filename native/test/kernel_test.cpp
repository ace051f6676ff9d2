// Kernel test and micro-benchmark without Node.js: checks that the CUDA kernels give results
// identical to the CPU kernels (when a GPU is present) and that the CPU kernels obey their
// definitions on constructed cases. Prints "N passed, N failed".
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>
#include "grid.hpp"
#include "stats.hpp"
#include "conv1d.hpp"
#include "layers.hpp"
#include "cuda_api.hpp"
#include "grid_compare.hpp"
#include "fileVerify.hpp"
#include <fcntl.h>
#include <unistd.h>


static int passed = 0, failed = 0;
static void expect(bool ok, const std::string& what) {
  if (ok) passed++; else { failed++; std::printf("FAIL: %s\n", what.c_str()); }
}

// A mix of exact grid values, FP32 round-trip artifacts, true off-grid values, saturation and non-finite values.
static std::vector<float> makeData(size_t n, float s, unsigned seed, bool ties) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> code(-140, 140);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; i++) {
    const float r = u(rng);
    if (ties) x[i] = 87.0f * s;  // one artifact value repeated: exercises exact tie-breaking
    else if (r < 0.90f) x[i] = (float)code(rng) * s;
    else if (r < 0.999f) x[i] = ((float)code(rng) + u(rng)) * s;
    else if (r < 0.9995f) x[i] = NAN;
    else x[i] = INFINITY;
  }
  return x;
}

// Data as dumps have it: Gaussian activations (std 30 codes) quantized to the grid of s, or left in
// FP32 (off the grid), or runs of 65536 of each in turn (the CUDA kernel changes paths per warp).
enum class Dump { kOnGrid, kUnquantized, kAlternating };
static std::vector<float> makeDump(size_t n, float s, Dump kind, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 30.0f);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; i++) {
    const float z = nd(rng);
    const bool quantized = kind == Dump::kOnGrid || (kind == Dump::kAlternating && (i >> 16) % 2 == 0);
    x[i] = quantized ? std::min(127.0f, std::max(-128.0f, std::nearbyint(z))) * s : z * s;
  }
  return x;
}

// Device-resident verification throughput against the card's memory bandwidth (1 GiB of float32),
// on three kinds of data: a dump on the INT8 grid (Gaussian activations quantized, saturating at
// the ends: what verify meets most) and a stress mix (10% off grid, 4% out of range, NaN/Inf).
static int benchVerify(bool withCpu) {
  // QL_BENCH_VERIFY_LOG2N: another size (a profiling aid: two sizes separate a call's fixed cost from its per-byte cost).
  const char* log2n = std::getenv("QL_BENCH_VERIFY_LOG2N");
  const size_t n = (size_t)1 << (log2n ? std::atoi(log2n) : 28), period = std::min(n, (size_t)1 << 24);
  const float s = 0.0121623231f;
  const std::vector<std::pair<const char*, std::vector<float>>> sets = {{"on-grid dump", makeDump(period, s, Dump::kOnGrid, 5)},
                                                                     {"stress mix", makeData(period, s, 11, false)},
                                                                     {"unquantized fp32", makeDump(period, s, Dump::kUnquantized, 5)}};
  std::vector<float> big(n);
  for (const auto& set : sets) {
    for (size_t i = 0; i < n; i++) big[i] = set.second[i & (period - 1)];
    ql::GridParams p; p.scales = {s}; p.zeroPoints = {0};
    if (const char* k = std::getenv("QL_BENCH_VERIFY_WORST")) p.worstK = std::atoi(k);  // a profiling aid, like the size
    const auto r = ql::cudaBenchVerify(big.data(), (int64_t)n, p, withCpu ? 10 : 2);
    std::printf("BENCH cuda verify, %s: %.1f GB/s over %zu MiB (peak %.1f GB/s, %.0f%% of peak), %.3f ms per pass\n", set.first,
                r.gbPerSec, n * 4 >> 20, r.peakGbPerSec, 100.0 * r.gbPerSec / r.peakGbPerSec, r.msPerPass);
    if (withCpu) {
      auto t0 = std::chrono::steady_clock::now();
      ql::GridAcc acc; ql::verifyParallel(big.data(), (int64_t)n, 0, p, acc, 16);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      std::printf("BENCH cpu verify (16 threads), %s: %.1f GB/s\n", set.first, n * 4 / ms / 1e6);
    }
  }
  return 0;
}

// One selective scan on random operands: the CPU's scanRun against cudaScan, bit for bit (checkD > 0:
// only the first checkD channels on the CPU, for lengths where the whole CPU scan would take minutes).
// timeReference: returns the per-channel kernel's device-resident time; checkD > 0 also times the tiled
// kernel (per step of L, and against refMs, the per-channel kernel's time, where given).
static double scanCase(int64_t D, int64_t L, int64_t S, bool gpu, int64_t checkD, bool timeReference = false, double refMs = 0) {
  std::mt19937 rng((unsigned)(D * 31 + L * 7 + S));
  std::normal_distribution<float> nd(0.0f, 0.12f);
  std::vector<float> u(D * L), delta(D * L), A(D * S), Bm(S * L), Cm(S * L), Dsk(D), z(D * L), db(D);
  for (auto* v : {&u, &delta, &Bm, &Cm, &z}) for (auto& e : *v) e = nd(rng) * 4.0f;
  for (auto& e : A) e = -std::exp(nd(rng) * 4.0f);
  for (auto& e : Dsk) e = nd(rng) * 8.0f;
  for (auto& e : db) e = nd(rng);
  ql::ScanProblem sp; sp.D = D; sp.L = L; sp.S = S; sp.u = u.data(); sp.delta = delta.data(); sp.A = A.data(); sp.Bm = Bm.data(); sp.Cm = Cm.data();
  sp.Dskip = Dsk.data(); sp.z = z.data(); sp.deltaBias = db.data(); sp.threads = 8;
  const std::string shape = "scan D=" + std::to_string(D) + " L=" + std::to_string(L) + " S=" + std::to_string(S);
  if (timeReference) {
    const double ms = ql::cudaTimeScanResident(sp, 3, ql::ScanKernel::PerChannel);
    std::printf("BENCH %s: per-channel kernel %.4f ms device-resident (the kernel the tiled one replaced)\n", shape.c_str(), ms);
    return ms;
  }
  ql::ScanProblem head = sp;
  if (checkD > 0) head.D = checkD;  // [D, L] and [D, S] operands: the first channels are a prefix
  std::vector<float> cpu, g;
  auto t0 = std::chrono::steady_clock::now();
  ql::scanRun(head, cpu);
  const double cpuMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!gpu) {
    bool finite = true;
    for (float v : cpu) finite &= std::isfinite(v);
    expect(finite && cpu.size() == (size_t)(head.D * L), shape + " produced finite outputs");
    return 0;
  }
  ql::cudaScan(sp, g);
  t0 = std::chrono::steady_clock::now();
  ql::cudaScan(sp, g);
  const double gpuMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  expect(g.size() == (size_t)(D * L) && std::memcmp(cpu.data(), g.data(), cpu.size() * 4) == 0,
         shape + ": CUDA equals CPU" + (checkD > 0 ? " (first " + std::to_string(checkD) + " channels)" : ""));
  std::printf("%s: cpu %.2f ms%s, cuda %.2f ms (incl. transfers)\n", shape.c_str(), cpuMs, checkD > 0 ? " (checked channels)" : "", gpuMs);
  if (checkD > 0) {
    const double ms = ql::cudaTimeScanResident(sp, 5);
    std::printf("BENCH %s: cuda %.4f ms device-resident (tiled kernel), %.1f ns per step of L", shape.c_str(), ms, ms * 1e6 / (double)L);
    if (refMs > 0) std::printf(", %.1fx faster than the per-channel kernel", refMs / ms);
    std::printf("\n");
  }
  return 0;
}

int main(int argc, char** argv) {
  // --bench: also time the kernels; --bench-verify: only the device-resident verify benchmark (for profilers).
  const bool benchVerifyOnly = argc > 1 && std::string(argv[1]) == "--bench-verify";
  const bool bench = benchVerifyOnly || (argc > 1 && std::string(argv[1]) == "--bench");
  const bool gpu = ql::cudaAvailable();
  std::printf("CUDA compiled: %d, device: %s\n", (int)ql::cudaCompiled(), gpu ? ql::cudaDeviceName().c_str() : "none");
  if (benchVerifyOnly) return gpu ? benchVerify(false) : 1;

  // The reference case: 87 * 0.0121623231 stored as FP32 divides back to 87.00000763: an artifact, not an error.
  {
    ql::GridParams p; p.scales = {0.0121623231f}; p.zeroPoints = {0};
    const float x = 87.0f * 0.0121623231f;
    ql::GridAcc acc; ql::verifyRange(&x, 1, 0, p, acc);
    expect(acc.artifacts == 1 && acc.offGrid == 0, "87*s is an FP32 round-trip artifact");
    expect(std::fabs(acc.maxDev - 7.62939453e-06f) < 1e-12f, "87*s deviation is 7.62939453e-06");
    const float off = std::nextafter(x, 2.0f);
    ql::GridAcc acc2; ql::verifyRange(&off, 1, 0, p, acc2);
    expect(acc2.offGrid == 1, "one ULP above fl32(87*s) is off grid");
  }

  struct Case {
    const char* name; size_t n; std::vector<float> scales; int64_t inner; bool ties;
    int worst = 10; int32_t zp = 0; int qmin = -128, qmax = 127; bool codes = false; float dataScale = 0;
    int dump = -1;  // a Dump kind instead of makeData's mix
    float tolerance = 1e-5f;  // a deviation-bin bound (the CUDA dense path counts by bin), or not
  };
  std::vector<Case> cases = {
    {"per-tensor 3M", 3000017, {0.0121623231f}, 1, false},
    {"per-channel 1536x2048", 1536 * 2048, {}, 2048, false},
    {"ties 2.5M", 2500000, {0.0121623231f}, 1, true},
    {"worst 50 (threshold path)", 1000003, {0.0121623231f}, 1, false, 50},
    {"ties 2.5M, worst 50 (bisection)", 2500000, {0.0121623231f}, 1, true, 50},
    {"zero point 3, range [-127,127]", 1000001, {0.0121623231f}, 1, false, 10, 3, -127, 127},
    {"int8 codes", 777777, {1.0f}, 1, false, 10, 0, -128, 127, true, 1.0f},
    {"scale 100x too small: mostly out of range", 999999, {0.000121623231f}, 1, false, 10, 0, -128, 127, false, 0.0121623231f},
    {"tiny: 5 elements", 5, {0.0121623231f}, 1, false},
    {"empty", 0, {0.0121623231f}, 1, false},
    {"quotient overflows (scale 1e-36)", 100003, {1e-36f}, 1, false, 10, 0, -128, 127, false, 10.0f},
    // Large enough for many iterations per warp: the CUDA kernel's on-grid, dense and per-element paths.
    {"on-grid dump 12M", 12000003, {0.0121623231f}, 1, false, 10, 0, -128, 127, false, 0, (int)Dump::kOnGrid},
    {"unquantized 12M", 12000001, {0.0121623231f}, 1, false, 10, 0, -128, 127, false, 0, (int)Dump::kUnquantized},
    {"alternating runs 12M, worst 20", 12000000, {0.0121623231f}, 1, false, 20, 0, -128, 127, false, 0, (int)Dump::kAlternating},
    {"stress mix 12M, zero point -5", 12000002, {0.0121623231f}, 1, false, 10, -5, -128, 127},
    {"on-grid dump 12M, scale 2^-6 (no artifacts)", 12000003, {0.015625f}, 1, false, 10, 0, -128, 127, false, 0, (int)Dump::kOnGrid},
    // Edges of the by-code CPU kernel: subnormal grid points, a zero point it declines, uint8 codes
    // with an asymmetric zero point, long per-channel runs, the worst list filled by artifacts alone.
    {"subnormal scale 1e-40", 300001, {1e-40f}, 1, false},
    {"zero point 2^21 (per-element kernel; sums of q^2 stay exact)", 2000, {0.0121623231f}, 1, false, 10, 1 << 21, -128, 127},
    {"uint8 range, zero point 128", 1000003, {0.0121623231f}, 1, false, 10, 128, 0, 255},
    {"per-channel 96 x 65536, on-grid dump", 96 * 65536, {}, 65536, false, 10, 0, -128, 127, false, 1.0f, (int)Dump::kOnGrid},
    // Rows of 4096 with a scale each (a [out, in] weight with weight_scale [out, 1]): most worst-list
    // candidates only tie its last entry, the by-code kernel's marking must still offer the same ones.
    {"per-channel 2048 x 4096, on-grid dump", 2048 * 4096, {}, 4096, false, 10, 0, -128, 127, false, 1.0f, (int)Dump::kOnGrid},
    {"on-grid dump 3M, worst 300", 3000000, {0.0121623231f}, 1, false, 300, 0, -128, 127, false, 0, (int)Dump::kOnGrid},
    // Tolerances off and on the deviation bins' bounds, and no worst list, on the CUDA kernel's dense path.
    {"unquantized 12M, tolerance 3e-6 (no bin bound)", 12000001, {0.0121623231f}, 1, false, 10, 0, -128, 127, false, 0, (int)Dump::kUnquantized, 3e-6f},
    {"stress mix 12M, tolerance 0 (a bin bound)", 12000002, {0.0121623231f}, 1, false, 10, 0, -128, 127, false, 0, -1, 0.0f},
    {"stress mix 12M, tolerance 0.2, no worst list", 12000002, {0.0121623231f}, 1, false, 0, 0, -128, 127, false, 0, -1, 0.2f},
    // The CUDA kernel's block floor (warps publishing their entries of rank ceil(K/8), 2 ceil(K/8), ...)
    // at list lengths where it takes one rank per warp, several, all K, and on one value repeated
    // (every key ties the floor: ties must still go to the lower index across warps).
    {"unquantized 12M, worst 1", 12000001, {0.0121623231f}, 1, false, 1, 0, -128, 127, false, 0, (int)Dump::kUnquantized},
    {"unquantized 12M, worst 3", 12000001, {0.0121623231f}, 1, false, 3, 0, -128, 127, false, 0, (int)Dump::kUnquantized},
    {"stress mix 12M, worst 32", 12000002, {0.0121623231f}, 1, false, 32},
    {"ties 12M, worst 17", 12000002, {0.0121623231f}, 1, true, 17},
  };
  // 96 scales, cycling over the channels of both per-channel dumps (by name: the list grows).
  for (auto& cs : cases)
    if (std::string(cs.name).rfind("per-channel", 0) == 0 && cs.scales.empty() && cs.dump >= 0)
      for (int c = 0; c < 96; c++) cs.scales.push_back(0.0121623231f * (1.0f + 0.01f * (float)c));
  for (int c = 0; c < 1536; c++) cases[1].scales.push_back(0.001f + 0.0001f * (float)(c % 97));
  for (auto& cs : cases) {
    ql::GridParams p; p.scales = cs.scales; p.zeroPoints.assign(cs.scales.size(), cs.zp); p.inner = cs.inner;
    p.worstK = cs.worst; p.qmin = cs.qmin; p.qmax = cs.qmax; p.inputIsCodes = cs.codes; p.tolerance = cs.tolerance;
    const float dataScale = cs.dataScale > 0 ? cs.dataScale : cs.scales[0];
    auto x = cs.dump >= 0 ? makeDump(cs.n, dataScale, (Dump)cs.dump, 7) : makeData(cs.n, dataScale, 7, cs.ties);
    if (cs.codes) for (auto& v : x) if (std::isfinite(v)) v = std::nearbyint(v);
    // A per-channel dump: codes (generated with scale 1) times each channel's own scale.
    if (cs.dump >= 0 && cs.scales.size() > 1) for (size_t i = 0; i < x.size(); i++) x[i] *= cs.scales[(i / cs.inner) % cs.scales.size()];
    ql::GridAcc one, many;
    ql::verifyRange(x.data(), (int64_t)x.size(), 0, p, one);
    ql::verifyParallel(x.data(), (int64_t)x.size(), 0, p, many, 8);
    std::string why;
    const bool threadedSame = ql::sameAcc(one, many, why);  // before the message is built: it names the fields
    expect(threadedSame, std::string(cs.name) + ": threaded CPU equals single-threaded (" + why + ")");
    {
      // The same values read by the kernel's threads from a file, behind a 12-byte header.
      char path[] = "/tmp/ql_kernel_test_XXXXXX";
      const int fd = mkstemp(path);
      const char header[12] = {};
      const bool written = fd >= 0 && write(fd, header, sizeof header) == (ssize_t)sizeof header &&
                           write(fd, x.data(), x.size() * 4) == (ssize_t)(x.size() * 4);
      expect(written, std::string(cs.name) + ": test file written");
      for (int threads : {1, 3}) {
        ql::GridAcc fromFile;
        ql::verifyFileRegion(fd, sizeof header, (int64_t)x.size(), 0, p, fromFile, threads);
        std::string whyFile;
        const bool fileSame = ql::sameAcc(one, fromFile, whyFile);
        expect(fileSame, std::string(cs.name) + ": verified from the file (" + std::to_string(threads) + " threads) equals in memory (" + whyFile + ")");
      }
      bool shrank = false;
      try { ql::GridAcc past; ql::verifyFileRegion(fd, sizeof header + 4, (int64_t)x.size(), 0, p, past, 2); } catch (const std::runtime_error& e) { shrank = std::string(e.what()) == "file shrank while reading"; }
      expect(shrank || x.empty(), std::string(cs.name) + ": a region past the end of the file is an error, not a crash");
      close(fd);
      unlink(path);
    }
    // The CPU kernels (per element, and on-grid elements counted by code, with and without its
    // AVX2 loop) agree bit for bit.
    for (auto path : {ql::GridParams::CpuPath::kPerElement, ql::GridParams::CpuPath::kByCode, ql::GridParams::CpuPath::kByCodePortable}) {
      ql::GridParams q = p;
      q.cpuPath = path;
      ql::GridAcc forced;
      ql::verifyRange(x.data(), (int64_t)x.size(), 0, q, forced);
      why.clear();
      const bool pathSame = ql::sameAcc(one, forced, why);
      expect(pathSame, std::string(cs.name) + (path == ql::GridParams::CpuPath::kByCode ? ": by-code" : path == ql::GridParams::CpuPath::kByCodePortable ? ": portable by-code" : ": per-element") +
                           " CPU kernel equals the default (" + why + ")");
    }
    expect(one.n + one.nan + one.inf == cs.n, std::string(cs.name) + ": every element counted");
    if (cs.scales.size() == 1) {
      // The worst list holds min(K, eligible) elements, eligible = everything not exactly on the grid.
      size_t eligible = 0;
      for (float v : x) {
        if (!std::isfinite(v)) { eligible++; continue; }
        if (cs.codes) continue;
        const float r = v / cs.scales[0], q = std::nearbyint(r);
        eligible += r != q || q * cs.scales[0] != v;
      }
      bool sorted = true;
      for (size_t i = 1; i < one.worst.size(); i++) sorted &= ql::worseThan(one.worst[i - 1], one.worst[i]);
      expect(one.worst.size() == std::min<size_t>(cs.worst, eligible) && sorted, std::string(cs.name) + ": worst list full and ordered");
    }
    if (gpu) {
      ql::GridAcc g;
      // Two chunks, as the extension streams them.
      const int64_t half = (int64_t)cs.n / 2;
      ql::cudaVerify(x.data(), half, 0, p, g);
      ql::cudaVerify(x.data() + half, (int64_t)cs.n - half, half, p, g);
      why.clear();
      const bool cudaSame = ql::sameAcc(one, g, why);
      expect(cudaSame, std::string(cs.name) + ": CUDA equals CPU (" + why + ")");
      // In launches of 2^16 elements, as inputs above kCudaVerifyLaunchElements are verified.
      ql::GridAcc split;
      ql::cudaVerify(x.data(), (int64_t)cs.n, 0, p, split, (int64_t)1 << 16);
      why.clear();
      const bool splitSame = ql::sameAcc(one, split, why);
      expect(splitSame, std::string(cs.name) + ": CUDA in launches of 2^16 elements equals CPU (" + why + ")");
    }
  }

  // The by-code kernel finds a plain element's code with a multiply by 1/s while codes and the zero
  // point stay below 2^21, with the division beyond: grids far from 0 in both regimes, on the grid
  // (so the by-code counts are exercised, not only the fallback) with a share off it, NaN and Inf.
  {
    struct FarCase { const char* name; int32_t zp; int qmin, qmax; float s; };
    for (const FarCase& fc : {FarCase{"zero point -2^20 (multiply guess)", -(1 << 20), -128, 127, 0.0121623231f},
                              FarCase{"zero point 2^20 - 200, range [0, 255] (multiply guess)", (1 << 20) - 200, 0, 255, 3.1e-7f},
                              FarCase{"range [1500000, 1500255] (division guess)", 0, 1500000, 1500255, 1.7e-6f},
                              FarCase{"scale 2^-130 (its reciprocal overflows)", 0, -128, 127, 7.34684e-40f}}) {
      std::mt19937 frng(11);
      std::vector<float> x(200003);
      for (size_t i = 0; i < x.size(); i++) {
        const int code = fc.qmin + (int)(frng() % (unsigned)(fc.qmax - fc.qmin + 1));
        float v = (float)(code - fc.zp) * fc.s;
        const unsigned r = frng() % 100;
        if (r == 0) v = std::nextafter(v, 1e30f);  // off the grid by one ulp
        else if (r == 1) v = NAN;
        else if (r == 2) v = -INFINITY;
        else if (r == 3) v *= 3.0f;  // mostly out of range
        x[i] = v;
      }
      ql::GridParams p; p.scales = {fc.s}; p.zeroPoints = {fc.zp}; p.qmin = fc.qmin; p.qmax = fc.qmax;
      ql::GridAcc each, byCode, portable;
      p.cpuPath = ql::GridParams::CpuPath::kPerElement;
      ql::verifyRange(x.data(), (int64_t)x.size(), 0, p, each);
      p.cpuPath = ql::GridParams::CpuPath::kByCode;
      ql::verifyRange(x.data(), (int64_t)x.size(), 0, p, byCode);
      p.cpuPath = ql::GridParams::CpuPath::kByCodePortable;
      ql::verifyRange(x.data(), (int64_t)x.size(), 0, p, portable);
      std::string why;
      const bool same = ql::sameAcc(each, byCode, why) && ql::sameAcc(each, portable, why);
      expect(same && each.n > x.size() / 2 && each.nan > 0 && each.inf > 0 && each.offGrid > 0,
             std::string(fc.name) + ": by-code CPU kernel, with and without AVX2, equals per-element (" + why + ")");
    }
  }

  // Statistics (stats.hpp): against a plain two-pass reference in long double, on data with NaN,
  // Inf, signed zeros, a block of NaN only and sizes around the block; from a file with 1 and 3
  // threads, the same bits as in memory.
  {
    std::mt19937 srng(3);
    std::normal_distribution<float> normal(0.5f, 3.0f);
    for (int64_t n : {(int64_t)0, (int64_t)1, (int64_t)7, ql::kStatsBlock - 1, ql::kStatsBlock, 3 * ql::kStatsBlock + 5, (int64_t)1000003}) {
      std::vector<float> x((size_t)n);
      for (auto& v : x) v = normal(srng);
      for (int64_t i = 0; i < n; i += 997) x[(size_t)i] = (i / 997) % 3 == 0 ? NAN : (i / 997) % 3 == 1 ? INFINITY : -INFINITY;
      if (n > 2 * ql::kStatsBlock) for (int64_t i = ql::kStatsBlock; i < 2 * ql::kStatsBlock; i++) x[(size_t)i] = NAN;  // a block with no finite value
      if (n > 3) { x[1] = -0.0f; x[2] = 0.0f; }
      long double sum = 0, mean = 0, m2 = 0;
      uint64_t fin = 0, nan = 0, inf = 0;
      float lo = INFINITY, hi = -INFINITY;
      for (float v : x) {
        if (std::isnan(v)) { nan++; continue; }
        if (std::isinf(v)) { inf++; continue; }
        fin++; sum += v; lo = std::min(lo, v); hi = std::max(hi, v);
      }
      if (fin) mean = sum / fin;
      for (float v : x) if (std::isfinite(v)) m2 += ((long double)v - mean) * ((long double)v - mean);
      const ql::Stats st = ql::statsOf(x.data(), n);
      const auto near = [](double a, long double b) { return std::fabs((long double)a - b) <= 1e-12L * std::max(1.0L, std::fabs(b)); };
      const bool same = st.n == fin && st.nan == nan && st.inf == inf && (!fin || (st.min == lo && st.max == hi)) && near(st.sum, sum) &&
                        near(st.mean, mean) && near(st.m2, m2);
      expect(same, "stats of " + std::to_string(n) + " values: counts, extremes, sum, mean and squares as the reference");
      char path[] = "/tmp/ql_stats_test_XXXXXX";
      const int fd = mkstemp(path);
      const char header[8] = {};
      const bool written = fd >= 0 && write(fd, header, sizeof header) == (ssize_t)sizeof header && write(fd, x.data(), x.size() * 4) == (ssize_t)(x.size() * 4);
      for (int threads : {1, 3}) {
        const ql::Stats f = written ? ql::statsOfFileRegion(fd, sizeof header, n, threads) : ql::Stats{};
        const bool bits = written && f.n == st.n && f.nan == st.nan && f.inf == st.inf && f.sum == st.sum && f.mean == st.mean && f.m2 == st.m2 &&
                          f.min == st.min && f.max == st.max;
        expect(bits, "stats of " + std::to_string(n) + " values from a file, " + std::to_string(threads) + " threads: the same bits as in memory");
      }
      bool shrank = false;
      try { ql::statsOfFileRegion(fd, sizeof header + 4, n, 2); } catch (const std::runtime_error& e) { shrank = std::string(e.what()) == "file shrank while reading"; }
      expect(shrank || n == 0, "stats of a region past the end of the file is an error, not a crash");
      close(fd);
      unlink(path);
    }
  }

  // The two formulations of the deviation bin (GPU: search, CPU: count) agree: around every bound,
  // at the special values, and on a million random non-negative floats.
  {
    std::vector<float> probe = {0.0f, -0.0f, NAN, INFINITY, 1e-45f, 1.17549435e-38f, 0.5f, 1.0f, 1e30f};
    for (float b : {1e-7f, 1e-6f, 1e-5f, 1e-4f, 1e-3f, 1e-2f, 1e-1f}) {
      float lo = b, hi = b;
      for (int k = 0; k < 4; k++) { probe.push_back(lo); probe.push_back(hi); lo = std::nextafter(lo, 0.0f); hi = std::nextafter(hi, 1.0f); }
    }
    std::mt19937 brng(5);
    for (int i = 0; i < 1000000; i++) { uint32_t bits = brng() & 0x7fffffffu; float f; std::memcpy(&f, &bits, 4); probe.push_back(f); }
    size_t differ = 0;
    for (float f : probe) differ += ql::devBinSearch(f) != ql::devBinCount(f);
    expect(differ == 0, "deviation bins: search and count formulations agree (" + std::to_string(differ) + " differ)");
    expect(ql::devBinCount(0.0f) == 0 && ql::devBinCount(1e-7f) == 1 && ql::devBinCount(std::nextafter(1e-7f, 1.0f)) == 2 &&
           ql::devBinCount(0.3f) == 8 && ql::devBinCount(NAN) == 8, "deviation bins: bounds inclusive above, NaN in the top bin");
  }

  // The GPU's division-free fl32(x/s) must equal IEEE division for every float x.
  if (gpu) {
    std::vector<float> scales = {0.0121623231f, 1.0f / 3.0f, 0.00704237f, 0.0183f, 1e-3f, 7.0f, 0x1p-60f, 0x1p60f, 3e-19f, 1.5e18f};
    std::mt19937 srng(3);
    std::uniform_real_distribution<float> expo(-20.0f, 10.0f);
    for (int i = 0; i < 8; i++) scales.push_back(std::exp2(expo(srng)));
    for (float s : scales) {
      const uint64_t bad = ql::cudaCheckFastDivision(s);
      char what[128]; std::snprintf(what, sizeof what, "fast division equals IEEE x/%.9g for all 2^32 x (%llu differ)", s, (unsigned long long)bad);
      expect(bad == 0, what);
    }
  }

  // conv1d in three modes at mamba-130m size: CUDA equals CPU.
  {
    const int64_t D = 1536, L = bench ? 2048 : 256, K = 4;
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 0.12f);
    std::vector<float> x(D * L); for (auto& v : x) v = nd(rng);
    std::vector<int8_t> w(D * K); for (auto& v : w) v = (int8_t)(rng() % 255 - 127);
    std::vector<int32_t> bias(D); for (auto& v : bias) v = (int32_t)(rng() % 2001) - 1000;
    for (ql::Mode m : {ql::Mode::Baseline, ql::Mode::Mode1, ql::Mode::Mode2}) {
      ql::Conv1dProblem pr; pr.mode = m; pr.D = D; pr.L = L; pr.K = K; pr.x = x.data(); pr.w = w.data(); pr.bias = bias.data();
      pr.inputScale = 0.0121623231f; pr.weightScale = 0.00704237f; pr.biasScale = 8.565161660611682e-05f; pr.outputScale = 0.0183f; pr.threads = 8;
      ql::Conv1dOutputs cpu;
      auto t0 = std::chrono::steady_clock::now();
      ql::conv1dRun(pr, cpu);
      const double cpuMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      const char* mn = m == ql::Mode::Baseline ? "baseline" : m == ql::Mode::Mode1 ? "mode1" : "mode2";
      if (gpu) {
        ql::Conv1dOutputs g;
        ql::cudaConv1d(pr, g);  // warm-up
        t0 = std::chrono::steady_clock::now();
        ql::cudaConv1d(pr, g);
        const double gpuMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        size_t diffs = 0, n = (size_t)(D * L);
        if (m == ql::Mode::Baseline) { for (size_t i = 0; i < n; i++) diffs += cpu.outputQ[i] != g.outputQ[i] || cpu.inputQ[i] != g.inputQ[i]; }
        else for (size_t i = 0; i < n; i++) diffs += cpu.outputSim[i] != g.outputSim[i] || std::memcmp(&cpu.ssmInput[i], &g.ssmInput[i], 4) != 0;
        std::printf("conv1d %s D=%lld L=%lld: cpu %.2f ms, cuda %.2f ms (incl. transfers), %zu elements differ\n", mn, (long long)D, (long long)L, cpuMs, gpuMs, diffs);
        if (bench) std::printf("BENCH conv1d %s D=%lld L=%lld: cuda %.4f ms device-resident (kernel only)\n", mn, (long long)D, (long long)L, ql::cudaTimeConv1dResident(pr, 50));
        expect(diffs == 0, std::string("conv1d ") + mn + ": CUDA equals CPU");
      } else {
        std::printf("conv1d %s D=%lld L=%lld: cpu %.2f ms\n", mn, (long long)D, (long long)L, cpuMs);
        expect(m == ql::Mode::Baseline ? cpu.outputQ.size() == (size_t)(D * L) : cpu.ssmInput.size() == (size_t)(D * L), std::string("conv1d ") + mn + " produced outputs");
      }
      // Its outputs live in recycled, unwritten blocks: runs over blocks that held two different byte
      // patterns give the same bits only if the run writes every element.
      auto runOver = [&](unsigned char pattern) {
        ql::Conv1dOutputs o;
        const size_t n = (size_t)(D * L), bytes = m == ql::Mode::Baseline ? n : n * 4;
        std::vector<void*> held;
        for (int i = 0; i < 3; i++) { held.push_back(ql::takeResultBlock(bytes)); std::memset(held.back(), pattern, bytes); }
        for (void* b : held) ql::releaseResultBlock(b, bytes);
        ql::conv1dRun(pr, o);
        return o;
      };
      const ql::Conv1dOutputs a = runOver(0x7f), b = runOver(0xa5);
      const bool same = m == ql::Mode::Baseline ? a.inputQ == b.inputQ && a.outputQ == b.outputQ && a.outputQ == cpu.outputQ
          : std::memcmp(a.inputSim.data(), b.inputSim.data(), a.inputSim.size() * 4) == 0 &&
            std::memcmp(a.outputSim.data(), b.outputSim.data(), a.outputSim.size() * 4) == 0 &&
            std::memcmp(a.ssmInput.data(), b.ssmInput.data(), a.ssmInput.size() * 4) == 0 &&
            std::memcmp(a.ssmInput.data(), cpu.ssmInput.data(), a.ssmInput.size() * 4) == 0;
      expect(same, std::string("conv1d ") + mn + ": every output element written (recycled blocks of two patterns give the same bits)");
    }
  }

  // The result pool: a released block serves the next request of its size class; other classes,
  // small blocks and anything past the cap are not kept.
  {
    const size_t mb = (size_t)1 << 20, before = ql::pooledResultBytes();
    void* a = ql::takeResultBlock(3 * mb);
    ql::releaseResultBlock(a, 3 * mb);
    expect(ql::pooledResultBytes() == before + 4 * mb, "result pool: a released 3 MiB block is kept, in a 4 MiB class");
    void* b = ql::takeResultBlock(3 * mb + 12345);
    expect(b == a && ql::pooledResultBytes() == before, "result pool: a request of the same class gets that block back");
    void* c = ql::takeResultBlock(5 * mb);
    expect(c != a, "result pool: a request of another class gets a fresh block");
    ql::releaseResultBlock(b, 3 * mb + 12345);
    ql::releaseResultBlock(c, 5 * mb);
    void* small = ql::takeResultBlock(4096);
    ql::releaseResultBlock(small, 4096);
    expect(ql::pooledResultBytes() == before + 10 * mb, "result pool: small blocks are not pooled");
    std::vector<void*> many;
    for (int i = 0; i < 40; i++) many.push_back(ql::takeResultBlock(16 * mb));
    for (void* p : many) ql::releaseResultBlock(p, 16 * mb);
    expect(ql::pooledResultBytes() <= ((size_t)256 << 20), "result pool: held bytes stay under the 256 MiB cap");
    void* again = ql::takeResultBlock(16 * mb);
    expect(again == many.back(), "result pool: the oldest blocks were evicted, the newest kept");
    ql::releaseResultBlock(again, 16 * mb);
  }

  // W8A8 linear (x_proj: 1536 -> 80, per-row scales) and selective scan (D 1536, S 16) at L tokens: CUDA equals CPU.
  {
    const int64_t L = bench ? 2048 : 128, K = 1536, N = 80, D = 1536, S = 16;
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 0.12f);
    std::vector<float> x(L * K); for (auto& v : x) v = nd(rng);
    std::vector<int8_t> w(N * K); for (auto& v : w) v = (int8_t)(rng() % 255 - 127);
    std::vector<int32_t> bias(N); for (auto& v : bias) v = (int32_t)(rng() % 20001) - 10000;
    for (ql::Mode m : {ql::Mode::Baseline, ql::Mode::Mode2}) {
      ql::LinearProblem lp; lp.mode = m; lp.T = L; lp.K = K; lp.N = N; lp.x = x.data(); lp.w = w.data(); lp.bias = bias.data();
      lp.inputScale = 0.0183f; lp.threads = 8;
      for (int64_t n = 0; n < N; n++) lp.weightScales.push_back(0.0001f + 0.00001f * (float)n);
      std::vector<float> cpu, g;
      auto t0 = std::chrono::steady_clock::now();
      ql::linearRun(lp, cpu);
      const double cpuMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      const char* mn = m == ql::Mode::Baseline ? "baseline" : "mode1/mode2";
      if (gpu) {
        ql::cudaLinear(lp, g);
        t0 = std::chrono::steady_clock::now();
        ql::cudaLinear(lp, g);
        const double gpuMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        expect(std::memcmp(cpu.data(), g.data(), cpu.size() * 4) == 0, std::string("linear ") + mn + ": CUDA equals CPU");
        std::printf("linear %s T=%lld K=%lld N=%lld: cpu %.2f ms, cuda %.2f ms (incl. transfers)\n", mn, (long long)L, (long long)K, (long long)N, cpuMs, gpuMs);
        if (bench) std::printf("BENCH linear %s T=%lld K=%lld N=%lld: cuda %.4f ms device-resident (kernels only)\n", mn, (long long)L, (long long)K, (long long)N, ql::cudaTimeLinearResident(lp, 50));
      } else {
        expect(cpu.size() == (size_t)(L * N), std::string("linear ") + mn + " produced outputs");
      }
    }
    // The selective scan at mamba-130m's D and S, and at shapes that leave partial tiles and blocks.
    scanCase(D, L, S, gpu, 0);
    scanCase(37, 100, 12, gpu, 0);
    scanCase(5, 64, 64, gpu, 0);
    scanCase(3, 1, 1, gpu, 0);
  }

  // The scan's scaling in L on the GPU (issue 16: linear up to 65,536), device-resident, next to the
  // per-channel kernel it replaced; the CPU checks the first channels at every length.
  if (bench && gpu) {
    const double perChannel = scanCase(1536, 2048, 16, gpu, 0, true);
    for (int64_t L : {2048, 8192, 32768, 65536}) scanCase(1536, L, 16, gpu, 16, false, L == 2048 ? perChannel : 0);
  }

  if (bench && gpu) benchVerify(true);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
