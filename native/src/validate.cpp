#include "validate.hpp"
#include <cmath>

namespace ql {

bool toIndex(double v, int64_t lo, int64_t& out) {
  // The comparisons reject NaN; the range check comes before the cast (casting an out-of-range
  // double to an integer is undefined behaviour).
  if (!(v >= (double)lo && v <= (double)kMaxIndex) || v != std::floor(v)) return false;
  out = (int64_t)v;
  return true;
}

bool mulIndex(int64_t a, int64_t b, int64_t& out) {
  if (a < 0 || b < 0) return false;
  if (a != 0 && b > kMaxIndex / a) return false;
  out = a * b;
  return true;
}

bool validScale(double s) { return s > 0 && std::isfinite(s) && std::isfinite((float)s) && (float)s > 0; }

std::string checkConv1d(double batch, double channels, double length, double kernel, size_t xLen, size_t wLen, size_t biasLen, Conv1dProblem& p) {
  int64_t B, D, L, K, bd, n, dk;
  if (!toIndex(batch, 1, B) || !toIndex(channels, 1, D) || !toIndex(length, 1, L) || !toIndex(kernel, 1, K) || K > 64) {
    return "conv1d shape is invalid (batch, channels, length must be positive integers; kernel 1..64)";
  }
  if (!mulIndex(B, D, bd) || !mulIndex(bd, L, n) || !mulIndex(D, K, dk)) return "conv1d shape is too large";
  if ((uint64_t)n != xLen) return "x length does not match batch*channels*length";
  if ((uint64_t)dk != wLen) return "weight length does not match channels*kernel";
  if ((uint64_t)D != biasLen) return "bias length does not match channels";
  p.B = B; p.D = D; p.L = L; p.K = K;
  return "";
}

std::string checkLinear(double rows, double inFeatures, double outFeatures, size_t xLen, size_t wLen, int64_t biasLen, size_t weightScales,
                        LinearProblem& p) {
  int64_t T, K, N, tk, nk, tn;
  if (!toIndex(rows, 1, T) || !toIndex(inFeatures, 1, K) || !toIndex(outFeatures, 1, N)) return "linear shape is invalid";
  if (!mulIndex(T, K, tk) || !mulIndex(N, K, nk) || !mulIndex(T, N, tn)) return "linear shape is too large";
  if ((uint64_t)tk != xLen) return "x length does not match rows*inFeatures";
  if ((uint64_t)nk != wLen) return "weight length does not match outFeatures*inFeatures";
  if (biasLen >= 0 && biasLen != N) return "bias length does not match outFeatures";
  if (weightScales != 1 && (int64_t)weightScales != N) return "weightScales must have 1 or outFeatures entries";
  p.T = T; p.K = K; p.N = N;
  return "";
}

std::string checkScan(double channels, double length, double state, const ScanLengths& len, ScanProblem& p) {
  int64_t D, L, S, dl, ds, sl, work;
  if (!toIndex(channels, 1, D) || !toIndex(length, 1, L) || !toIndex(state, 1, S)) return "scan shape is invalid";
  if (!mulIndex(D, L, dl) || !mulIndex(D, S, ds) || !mulIndex(S, L, sl) || !mulIndex(dl, S, work)) return "scan shape is too large";
  if ((uint64_t)dl != len.u) return "u has the wrong length";
  if ((uint64_t)dl != len.delta) return "delta has the wrong length";
  if ((uint64_t)ds != len.A) return "A has the wrong length";
  if ((uint64_t)sl != len.B) return "B has the wrong length";
  if ((uint64_t)sl != len.C) return "C has the wrong length";
  if (len.D >= 0 && len.D != D) return "D has the wrong length";
  if (len.z >= 0 && len.z != dl) return "z has the wrong length";
  if (len.deltaBias >= 0 && len.deltaBias != D) return "deltaBias has the wrong length";
  p.D = D; p.L = L; p.S = S;
  return "";
}

std::string checkGrid(const std::vector<double>& scales, const std::vector<double>& zeroPoints, double inner, double qmin, double qmax, GridParams& p) {
  if (scales.empty()) return "at least one scale is needed";
  p.scales.clear(); p.zeroPoints.clear();
  for (double s : scales) {
    if (!validScale(s)) return "scales must be finite and positive";
    p.scales.push_back((float)s);
  }
  if (zeroPoints.size() > scales.size()) return "more zero points than scales";
  for (double z : zeroPoints) {
    if (!(std::fabs(z) <= 2147483647.0) || z != std::floor(z)) return "zero points must be 32-bit integers";
    p.zeroPoints.push_back((int32_t)z);
  }
  p.zeroPoints.resize(p.scales.size(), 0);
  if (!toIndex(inner, 1, p.inner)) return "inner must be a positive integer";
  if (!(std::fabs(qmin) <= 2147483647.0 && std::fabs(qmax) <= 2147483647.0) || qmin != std::floor(qmin) || qmax != std::floor(qmax)) {
    return "integer range is invalid";
  }
  if (qmax < qmin || qmax - qmin > 65535) return "integer range is invalid";
  p.qmin = (int)qmin; p.qmax = (int)qmax;
  return "";
}

std::string checkChunk(double start, size_t n, int64_t& startOut) {
  if (!toIndex(start, 0, startOut)) return "chunk start must be a non-negative integer";
  if ((uint64_t)n > (uint64_t)(kMaxIndex - startOut)) return "chunk runs past the largest supported index";
  return "";
}

std::string checkTiling(const double (&fields)[5], int64_t start, int64_t count, TileGrid& g) {
  int64_t* out[] = {&g.cols, &g.rowsPerTile, &g.colsPerTile, &g.tileCols, &g.tiles};
  for (int k = 0; k < 5; k++)
    if (!toIndex(fields[k], 1, *out[k])) return std::string("overview: options.") + kTilingFields[k] + " must be a positive integer";
  if (start < 0 || count < 0 || start > kMaxIndex - count) return "overview: start + count is too large";
  if (g.tiles > (int64_t(1) << 24)) return "overview: more than 2^24 tiles";
  const int64_t colTiles = (g.cols - 1) / g.colsPerTile + 1;  // tiles across one row of the picture
  int64_t rowTiles = 0;
  const int64_t lastTileRow = count ? (start + count - 1) / g.cols / g.rowsPerTile : 0;
  if (colTiles > g.tileCols || !mulIndex(lastTileRow + 1, g.tileCols, rowTiles) || rowTiles > g.tiles)
    return "overview: the tiling does not cover the positions asked for";
  return "";
}

}  // namespace ql
