#include "grid.hpp"
#include <algorithm>
#include <cmath>
#include <thread>

namespace ql {

int devBin(float dev) {
  if (dev == 0.0f) return 0;
  if (dev <= 1e-7f) return 1;
  if (dev <= 1e-6f) return 2;
  if (dev <= 1e-5f) return 3;
  if (dev <= 1e-4f) return 4;
  if (dev <= 1e-3f) return 5;
  if (dev <= 1e-2f) return 6;
  if (dev <= 1e-1f) return 7;
  return 8;
}

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
static void verifyRun(const float* x, int64_t n, int64_t start, float s, int32_t zp, const GridParams& p, GridAcc& acc) {
  const int bins = p.qmax - p.qmin + 1;
  if ((int)acc.codeHist.size() < bins) acc.codeHist.resize(bins, 0);
  uint64_t* hist = acc.codeHist.data();
  const float tol = p.tolerance;
  // Entry bar for the worst list: skip the sort unless an element can enter it.
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    if (!std::isfinite(v)) {
      if (std::isnan(v)) acc.nan++; else acc.inf++;
      insertWorst(acc.worst, Worst{start + i, v, 0.0f, 0.0f, kNonFinite}, p.worstK);
      continue;
    }
    float q, dev;
    uint8_t cls;
    float recon;
    if (p.inputIsCodes) {
      q = v; dev = 0.0f; cls = kExact; recon = 0.0f;
    } else {
      const float r = v / s;
      const float qr = std::nearbyint(r);
      dev = std::fabs(r - qr);
      const float back = qr * s;
      const bool member = back == v;
      recon = std::fabs(back - v);
      cls = member ? (dev == 0.0f ? kExact : kFp32Artifact) : kOffGrid;
      q = qr + (float)zp;
    }
    acc.n++;
    if (dev > tol) acc.offTol++;
    if (cls == kFp32Artifact) acc.artifacts++;
    if (cls == kOffGrid) acc.offGrid++;
    if (dev > acc.maxDev) acc.maxDev = dev;
    if (recon > acc.maxRecon) acc.maxRecon = recon;
    acc.devHist[devBin(dev)]++;
    const double qd = q;
    acc.sumQ += qd; acc.sumQ2 += qd * qd;
    if (!acc.any) { acc.qMin = acc.qMax = qd; acc.any = true; }
    else { if (qd < acc.qMin) acc.qMin = qd; if (qd > acc.qMax) acc.qMax = qd; }
    if (q >= (float)p.qmax) acc.satPos++;
    if (q <= (float)p.qmin) acc.satNeg++;
    if (q < (float)p.qmin || q > (float)p.qmax) acc.outOfRange++;
    else hist[(int)q - p.qmin]++;
    if (dev > 0.0f || cls != kExact) {
      if ((int)acc.worst.size() < p.worstK || worseThan(Worst{start + i, v, q, dev, cls}, acc.worst.back())) {
        insertWorst(acc.worst, Worst{start + i, v, q, dev, cls}, p.worstK);
      }
    }
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
