#include "diff.hpp"
#include "detmath.hpp"
#include <algorithm>
#include <cmath>
#include <thread>

namespace ql {

static bool biggerDiff(const DiffTop& x, const DiffTop& y) {
  if (x.absDiff != y.absDiff) return x.absDiff > y.absDiff;
  return x.index < y.index;
}

static void insertTop(std::vector<DiffTop>& list, const DiffTop& t, int k) {
  if (k <= 0) return;
  if ((int)list.size() == k && !biggerDiff(t, list.back())) return;
  list.insert(std::upper_bound(list.begin(), list.end(), t, biggerDiff), t);
  if ((int)list.size() > k) list.pop_back();
}

void DiffAcc::merge(const DiffAcc& o, int topK) {
  n += o.n; exact += o.exact; nanMismatch += o.nanMismatch;
  sumAbs += o.sumAbs; sumSqRef += o.sumSqRef; sumSqErr += o.sumSqErr; dot += o.dot; sumSqA += o.sumSqA; sumSqB += o.sumSqB;
  maxAbs = std::max(maxAbs, o.maxAbs);
  equalCodes += o.equalCodes; sumAbsDq += o.sumAbsDq; maxAbsDq = std::max(maxAbsDq, o.maxAbsDq);
  if (dqHist.size() < o.dqHist.size()) dqHist.resize(o.dqHist.size(), 0);
  for (size_t i = 0; i < o.dqHist.size(); i++) dqHist[i] += o.dqHist[i];
  for (const auto& t : o.top) insertTop(top, t, topK);
}

static inline float realValue(float v, const DiffSide& s) { return s.isCodes && s.scale != 0.0f ? v * s.scale : v; }
static inline float code(float v, const DiffSide& s) { return s.isCodes ? v : rintDet(v / s.scale); }

void diffRange(const float* a, const float* b, int64_t n, int64_t start, const DiffParams& p, DiffAcc& acc) {
  const bool grid = (p.a.isCodes || p.a.scale != 0.0f) && (p.b.isCodes || p.b.scale != 0.0f);
  if (grid && acc.dqHist.empty()) acc.dqHist.assign(kDqBins, 0);
  for (int64_t i = 0; i < n; i++) {
    const float ra = realValue(a[i], p.a), rb = realValue(b[i], p.b);
    acc.n++;
    if (std::isnan(ra) || std::isnan(rb)) {
      if (!(std::isnan(ra) && std::isnan(rb))) acc.nanMismatch++; else acc.exact++;
      continue;
    }
    const float d = std::fabs(ra - rb);
    if (ra == rb) acc.exact++;
    acc.sumAbs += d;
    if (d > acc.maxAbs) acc.maxAbs = d;
    const double da = ra, db = rb;
    acc.sumSqRef += da * da;
    acc.sumSqErr += (da - db) * (da - db);
    acc.dot += da * db; acc.sumSqA += da * da; acc.sumSqB += db * db;
    if (grid) {
      const double dq = std::fabs((double)code(a[i], p.a) - (double)code(b[i], p.b));
      if (dq == 0) acc.equalCodes++;
      acc.sumAbsDq += dq;
      if (dq > acc.maxAbsDq) acc.maxAbsDq = dq;
      acc.dqHist[!(dq < kDqBins - 1) ? kDqBins - 1 : (int)dq]++;  // NaN (inf - inf codes) counts as the top bin
    }
    if (d > 0 && p.topK > 0 && ((int)acc.top.size() < p.topK || d >= acc.top.back().absDiff)) insertTop(acc.top, DiffTop{start + i, ra, rb, d}, p.topK);
  }
}

void diffParallel(const float* a, const float* b, int64_t n, int64_t start, const DiffParams& p, DiffAcc& acc, int threads) {
  const int64_t minPerThread = 1 << 16;
  int t = std::max(1, std::min<int>(threads, (int)((n + minPerThread - 1) / minPerThread)));
  if (t == 1) { diffRange(a, b, n, start, p, acc); return; }
  std::vector<DiffAcc> parts(t);
  std::vector<std::thread> pool;
  const int64_t per = (n + t - 1) / t;
  for (int k = 0; k < t; k++) {
    const int64_t s = k * per, e = std::min(n, s + per);
    pool.emplace_back([&, k, s, e] { if (s < e) diffRange(a + s, b + s, e - s, start + s, p, parts[k]); });
  }
  for (auto& th : pool) th.join();
  for (auto& part : parts) acc.merge(part, p.topK);
}

}  // namespace ql
