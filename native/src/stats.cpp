#include "stats.hpp"
#include "detmath.hpp"
#include "fileVerify.hpp"
#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

namespace ql {

void Stats::merge(const Stats& o) {
  if (!o.n) {
    nan += o.nan; inf += o.inf;
    return;
  }
  if (!n) {
    const uint64_t a = nan, b = inf;
    *this = o;
    nan += a; inf += b;
    return;
  }
  const double na = (double)n, nb = (double)o.n, nab = na + nb, delta = o.mean - mean;
  mean += delta * (nb / nab);
  m2 = m2 + o.m2 + delta * delta * (na * nb / nab);  // the order of src/analysis/stats.ts mergeStats
  sum += o.sum;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  n += o.n; nan += o.nan; inf += o.inf;
}

namespace {

// One block (at most kStatsBlock values): loops over eight lanes, which vectorize without
// reassociating anything the lanes do not already fix (the order is the same on every machine).
QL_CPU_CLONES
Stats blockStats(const float* x, int m) {
  // Counts and extremes in one pass of unsigned reductions with masks, which vectorize (float
  // min/max, or a select inside the reduction, stayed scalar): a float's bits, mapped so that
  // unsigned order is the values' order; a non-finite value is masked to the identity.
  uint32_t fin = 0, nans = 0, kmin = UINT32_MAX, kmax = 0;
  for (int i = 0; i < m; i++) {
    const float v = x[i];
    const uint32_t bits = floatBits(v);
    const uint32_t finite = (bits & 0x7f800000u) != 0x7f800000u;
    const uint32_t key = bits ^ ((uint32_t)((int32_t)bits >> 31) | 0x80000000u);
    fin += finite;
    nans += v != v;
    kmin = std::min(kmin, key | (finite - 1u));
    kmax = std::max(kmax, key & (0u - finite));
  }
  // The sum in eight double lanes: a fixed order, the same on every machine.
  constexpr int L = 8;
  double s[L] = {};
  const int whole = m - m % L;
  for (int i = 0; i < whole; i += L) {
    for (int j = 0; j < L; j++) {
      const float v = x[i + j];
      s[j] += v - v == 0.0f ? (double)v : 0.0;
    }
  }
  for (int i = whole; i < m; i++) s[0] += x[i] - x[i] == 0.0f ? (double)x[i] : 0.0;
  Stats r;
  r.n = fin;
  r.nan = nans;
  r.inf = (uint64_t)m - fin - nans;
  for (int j = 0; j < L; j++) r.sum += s[j];
  const auto unkey = [](uint32_t k) { return bitsToFloat(k & 0x80000000u ? k ^ 0x80000000u : ~k); };
  r.min = unkey(kmin);
  r.max = unkey(kmax);
  if (!r.n) return r;
  r.mean = r.sum / (double)r.n;
  // The squares about the block's own mean: the block is still in cache.
  double q[L] = {};
  const double mu = r.mean;
  int i = 0;
  for (; i + L <= m; i += L) {
    for (int j = 0; j < L; j++) {
      const float v = x[i + j];
      const double d = v - v == 0.0f ? (double)v - mu : 0.0;
      q[j] += d * d;
    }
  }
  for (; i < m; i++) {
    const float v = x[i];
    const double d = v - v == 0.0f ? (double)v - mu : 0.0;
    q[0] += d * d;
  }
  for (int j = 0; j < L; j++) r.m2 += q[j];
  return r;
}

// Blocks [b0, b1) of the values at `at(block)`, into out[b0..b1).
template <typename Load>
void blocksInto(int64_t count, int64_t b0, int64_t b1, Stats* out, Load load) {
  for (int64_t b = b0; b < b1; b++) {
    const int64_t first = b * kStatsBlock, m = std::min(kStatsBlock, count - first);
    out[b] = blockStats(load(first, m), (int)m);
  }
}

// Runs blocksInto over every block, spread over `threads` threads, then merges the blocks in order.
template <typename LoadFor>
Stats overBlocks(int64_t count, int threads, LoadFor loadFor) {
  const int64_t blocks = (count + kStatsBlock - 1) / kStatsBlock;
  std::vector<Stats> parts((size_t)blocks);
  const int t = (int)std::max<int64_t>(1, std::min<int64_t>(threads, blocks));
  std::vector<std::exception_ptr> errors(t);
  std::vector<std::thread> pool;
  const int64_t per = (blocks + t - 1) / t;
  for (int k = 0; k < t; k++) {
    const int64_t b0 = k * per, b1 = std::min(blocks, b0 + per);
    auto run = [&, k, b0, b1] {
      try { if (b0 < b1) blocksInto(count, b0, b1, parts.data(), loadFor()); } catch (...) { errors[k] = std::current_exception(); }
    };
    if (k == t - 1) run(); else pool.emplace_back(run);
  }
  for (auto& th : pool) th.join();
  for (auto& e : errors) if (e) std::rethrow_exception(e);
  Stats all;
  for (const Stats& p : parts) all.merge(p);
  return all;
}

}  // namespace

Stats statsOf(const float* x, int64_t n) {
  return overBlocks(n, 1, [x] { return [x](int64_t first, int64_t) { return x + first; }; });
}

Stats statsOfFileRegion(int fd, int64_t byteOffset, int64_t count, int threads) {
  // Each thread reads its blocks into a buffer of its own that stays in its cache.
  return overBlocks(count, threads, [fd, byteOffset] {
    auto buf = std::shared_ptr<float[]>(new float[(size_t)kStatsBlock]);
    return [fd, byteOffset, buf](int64_t first, int64_t m) {
      readFully(fd, byteOffset + 4 * first, 4 * m, buf.get());
      return (const float*)buf.get();
    };
  });
}

}  // namespace ql
