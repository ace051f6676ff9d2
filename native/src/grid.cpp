#include "grid.hpp"
#include "detmath.hpp"
#include <algorithm>
#include <cmath>
#include <thread>

namespace ql {

void insertWorst(std::vector<Worst>& list, const Worst& w, int k) {
  if (k <= 0) return;
  if ((int)list.size() == k && !worseThan(w, list.back())) return;
  auto pos = std::upper_bound(list.begin(), list.end(), w, worseThan);
  list.insert(pos, w);
  if ((int)list.size() > k) list.pop_back();
}

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

// The arithmetic here must be IEEE single precision with no contraction (the build passes
// -ffp-contract=off): fl32(x/s), rint (round half to even), fl32(q*s) are the definitions.
// Work goes in blocks: a branch-free, vectorizable pass computes q, deviation and membership for
// the block; a second pass accumulates. Elements only enter the (rare) worst-list path when they
// could rank in it.
static void verifyRun(const float* x, int64_t n, int64_t start, float s, int32_t zp, const GridParams& p, GridAcc& acc) {
  const int bins = p.qmax - p.qmin + 1;
  if ((int)acc.codeHist.size() < bins) acc.codeHist.resize(bins, 0);
  uint64_t* hist = acc.codeHist.data();
  const float tol = p.tolerance, fzp = (float)zp, fqmin = (float)p.qmin, fqmax = (float)p.qmax;
  constexpr int B = 512;
  alignas(64) float qv[B], dv[B], rv[B];
  alignas(64) uint8_t cls[B];
  for (int64_t base = 0; base < n; base += B) {
    const int m = (int)std::min<int64_t>(B, n - base);
    const float* xb = x + base;
    uint64_t offTol = 0, art = 0, off = 0, sp = 0, sn = 0, oor = 0, fin = 0;
    float maxDev = acc.maxDev, maxRecon = acc.maxRecon;
    double sumQ = 0, sumQ2 = 0;
    if (p.inputIsCodes) {
      for (int i = 0; i < m; i++) { qv[i] = xb[i]; dv[i] = 0.0f; rv[i] = 0.0f; cls[i] = xb[i] - xb[i] == 0.0f ? kExact : kNonFinite; }
    } else {
      for (int i = 0; i < m; i++) {
        const float v = xb[i];
        const float r = v / s;
        const float qr = rintDet(r);
        const float d = __builtin_fabsf(r - qr);
        const float back = qr * s;
        const bool finite = v - v == 0.0f;
        qv[i] = qr + fzp;
        dv[i] = finite ? d : 0.0f;
        rv[i] = finite ? __builtin_fabsf(back - v) : 0.0f;
        cls[i] = !finite ? kNonFinite : back == v ? (d == 0.0f ? kExact : kFp32Artifact) : kOffGrid;
      }
    }
    for (int i = 0; i < m; i++) {
      const uint8_t c = cls[i];
      if (c == kNonFinite) {
        if (xb[i] != xb[i]) acc.nan++; else acc.inf++;
        insertWorst(acc.worst, Worst{start + base + i, xb[i], 0.0f, 0.0f, kNonFinite}, p.worstK);
        continue;
      }
      const float q = qv[i], d = dv[i];
      fin++;
      offTol += d > tol;
      art += c == kFp32Artifact;
      off += c == kOffGrid;
      maxDev = d > maxDev ? d : maxDev;
      maxRecon = rv[i] > maxRecon ? rv[i] : maxRecon;
      acc.devHist[devBin(d)]++;
      sumQ += q; sumQ2 += (double)q * q;
      sp += q >= fqmax;
      sn += q <= fqmin;
      if (q < fqmin || q > fqmax) oor++;
      else hist[(int)q - p.qmin]++;
      if (d > 0.0f || c != kExact) {
        const Worst w{start + base + i, xb[i], q, d, c};
        if (p.worstK > 0 && ((int)acc.worst.size() < p.worstK || worseThan(w, acc.worst.back()))) insertWorst(acc.worst, w, p.worstK);
      }
    }
    for (int i = 0; i < m; i++) {
      if (cls[i] == kNonFinite) continue;
      const double q = qv[i];
      if (!acc.any) { acc.qMin = acc.qMax = q; acc.any = true; }
      acc.qMin = q < acc.qMin ? q : acc.qMin;
      acc.qMax = q > acc.qMax ? q : acc.qMax;
    }
    acc.n += fin; acc.offTol += offTol; acc.artifacts += art; acc.offGrid += off; acc.satPos += sp; acc.satNeg += sn; acc.outOfRange += oor;
    acc.sumQ += sumQ; acc.sumQ2 += sumQ2; acc.maxDev = maxDev; acc.maxRecon = maxRecon;
  }
}

void verifyRange(const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& acc) {
  const int64_t channels = (int64_t)p.scales.size();
  if (channels <= 1) {
    verifyRun(x, n, start, p.scales.empty() ? 1.0f : p.scales[0], p.zeroPoints.empty() ? 0 : p.zeroPoints[0], p, acc);
    return;
  }
  // Per channel: walk runs of constant channel so the inner loop sees one scale.
  int64_t i = 0;
  while (i < n) {
    const int64_t flat = start + i;
    const int64_t c = (flat / p.inner) % channels;
    const int64_t runEnd = std::min<int64_t>(n, (flat / p.inner + 1) * p.inner - start);
    verifyRun(x + i, runEnd - i, flat, p.scales[c], p.zeroPoints[c], p, acc);
    i = runEnd;
  }
}

void verifyParallel(const float* x, int64_t n, int64_t start, const GridParams& p, GridAcc& acc, int threads) {
  const int64_t minPerThread = 1 << 16;
  int t = std::max(1, std::min<int>(threads, (int)((n + minPerThread - 1) / minPerThread)));
  if (t == 1) { verifyRange(x, n, start, p, acc); return; }
  std::vector<GridAcc> parts(t);
  std::vector<std::thread> pool;
  const int64_t per = (n + t - 1) / t;
  for (int k = 0; k < t; k++) {
    const int64_t b = k * per, e = std::min(n, b + per);
    pool.emplace_back([&, k, b, e] { if (b < e) verifyRange(x + b, e - b, start + b, p, parts[k]); });
  }
  for (auto& th : pool) th.join();
  for (auto& part : parts) acc.merge(part, p.worstK);
}

}  // namespace ql
