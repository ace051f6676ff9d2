#include "overview.hpp"
#include "detmath.hpp"
#include "fileVerify.hpp"
#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <thread>

namespace ql {

namespace {

// src/view/overview.ts SEVERITY: NaN/Inf over off-grid over out-of-range over artifacts over the rest.
constexpr uint8_t kSeverity[6] = {0, 1, 3, 4, 0, 2};
constexpr uint8_t kProblemSeverity = 2;
inline uint8_t severity(uint8_t c) { return c < 6 ? kSeverity[c] : 0; }

// Classes and measures of x[0..m), all on scale s and zero point zp: classifyInto's arithmetic.
QL_CPU_CLONES
void classifyRun(const float* x, int m, float s, int32_t zp, const GridParams& p, uint8_t* cls, float* measure) {
  const double lo = p.qmin, hi = p.qmax, z = zp;
  for (int i = 0; i < m; i++) {
    const float v = x[i];
    const bool finite = v - v == 0.0f;
    const float r = v / s;
    const float qr = rintDet(r);
    const float d = __builtin_fabsf(r - qr);
    const double code = (double)qr + z;
    const uint8_t c = !finite ? kViewNonFinite
                      : qr * s != v ? kViewOffGrid
                      : code < lo || code > hi ? kViewOutOfRange
                      : d == 0.0f ? kViewExact
                                  : kViewArtifact;
    cls[i] = c;
    measure[i] = finite ? d : INFINITY;
  }
}

// Positions start .. start + m - 1 with their classes and measures, into the tiles (overview.ts add()).
void addToTiles(int64_t start, int64_t m, const uint8_t* cls, const float* measure, const TileGrid& g, Tiles& t) {
  for (int64_t k = 0; k < m;) {
    const int64_t pos = start + k, row = pos / g.cols;
    const int64_t col0 = pos - row * g.cols, colEnd = std::min(g.cols, col0 + (m - k));
    const int64_t rowBase = (row / g.rowsPerTile) * g.tileCols;
    for (int64_t tc = col0 / g.colsPerTile; tc * g.colsPerTile < colEnd; tc++) {
      const int64_t tile = rowBase + tc;
      const int64_t a = std::max(col0, tc * g.colsPerTile), b = std::min(colEnd, (tc + 1) * g.colsPerTile);
      float peak = t.peak[tile], atM = t.atMeasure[tile];
      uint8_t worst = t.worst[tile], rank = severity(worst);
      double at = t.at[tile];
      uint32_t problems = t.problems[tile];
      for (int64_t j = k + (a - col0), jEnd = k + (b - col0); j < jEnd; j++) {
        const uint8_t c = cls[j], rk = severity(c);
        const float ms = measure[j];
        if (c != kViewNonFinite && ms > peak) peak = ms;
        problems += rk >= kProblemSeverity;
        if (at < 0 || rk > rank || (rk == rank && ms > atM)) {
          worst = c; rank = rk; at = (double)(start + j); atM = ms;
        }
      }
      t.peak[tile] = peak; t.worst[tile] = worst; t.at[tile] = at; t.atMeasure[tile] = atM; t.problems[tile] = problems;
    }
    k += colEnd - col0;
  }
}

}  // namespace

void Tiles::merge(const Tiles& later) {
  for (size_t i = 0; i < worst.size(); i++) {
    problems[i] += later.problems[i];
    peak[i] = std::max(peak[i], later.peak[i]);
    if (later.at[i] < 0) continue;
    const uint8_t r = severity(worst[i]), rl = severity(later.worst[i]);
    if (at[i] < 0 || rl > r || (rl == r && later.atMeasure[i] > atMeasure[i])) {
      worst[i] = later.worst[i]; at[i] = later.at[i]; atMeasure[i] = later.atMeasure[i];
    }
  }
}

Tiles overviewOfFileRegion(int fd, int64_t byteOffset, int64_t count, int64_t start, const GridParams& p, const TileGrid& g, int threads) {
  constexpr int64_t kBlock = 1 << 16;
  const int t = (int)std::max<int64_t>(1, std::min<int64_t>(threads, (count + kBlock - 1) / kBlock));
  std::vector<Tiles> parts((size_t)t, Tiles(g.tiles));
  std::vector<std::exception_ptr> errors(t);
  std::vector<std::thread> pool;
  const int64_t per = (count + t - 1) / t;
  const int64_t channels = (int64_t)p.scales.size();
  for (int k = 0; k < t; k++) {
    const int64_t b = k * per, e = std::min(count, b + per);
    auto run = [&, k, b, e] {
      try {
        std::unique_ptr<float[]> buf(new float[(size_t)kBlock]);
        std::unique_ptr<uint8_t[]> cls(new uint8_t[(size_t)kBlock]);
        std::unique_ptr<float[]> measure(new float[(size_t)kBlock]);
        for (int64_t i = b; i < e; i += kBlock) {
          const int64_t m = std::min(kBlock, e - i);
          readFully(fd, byteOffset + 4 * i, 4 * m, buf.get());
          // Runs of one scale (per-channel tensors: the channel changes every p.inner elements).
          for (int64_t j = 0; j < m;) {
            const int64_t flat = start + i + j;
            const int64_t c = channels > 1 ? (flat / p.inner) % channels : 0;
            const int64_t runEnd = channels > 1 ? std::min(m, (flat / p.inner + 1) * p.inner - start - i) : m;
            classifyRun(buf.get() + j, (int)(runEnd - j), p.scales[c], p.zeroPoints[c], p, cls.get() + j, measure.get() + j);
            j = runEnd;
          }
          addToTiles(start + i, m, cls.get(), measure.get(), g, parts[k]);
        }
      } catch (...) { errors[k] = std::current_exception(); }
    };
    if (k == t - 1) run(); else pool.emplace_back(run);
  }
  for (auto& th : pool) th.join();
  for (auto& err : errors) if (err) std::rethrow_exception(err);
  for (int k = 1; k < t; k++) parts[0].merge(parts[k]);
  return std::move(parts[0]);
}

}  // namespace ql
