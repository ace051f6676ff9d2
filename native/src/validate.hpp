// Validation of the numbers that reach the native entry points from JavaScript: sizes, strides
// (channel runs), chunk offsets, integer ranges and scales. Pure C++ (no Node-API), so the same
// checks run in the addon and under libFuzzer (native/fuzz). Each function returns an empty
// string when the input is acceptable, otherwise a message naming what is wrong; on success the
// problem's sizes are filled in and every buffer the kernel will touch is known to be in bounds.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include "conv1d.hpp"
#include "grid.hpp"
#include "layers.hpp"
#include "overview.hpp"

namespace ql {

// The largest element count or offset accepted: JavaScript numbers are exact up to 2^53.
constexpr int64_t kMaxIndex = int64_t(1) << 53;

// A JavaScript number used as a size or index: finite, integral and in [lo, kMaxIndex].
bool toIndex(double v, int64_t lo, int64_t& out);
// A scale: finite and positive, also once rounded to FP32 (the kernels compute in FP32).
bool validScale(double s);
// a * b, or false when the product exceeds kMaxIndex (all factors are non-negative).
bool mulIndex(int64_t a, int64_t b, int64_t& out);

std::string checkConv1d(double batch, double channels, double length, double kernel, size_t xLen, size_t wLen, size_t biasLen, Conv1dProblem& p);
// biasLen < 0: no bias.
std::string checkLinear(double rows, double inFeatures, double outFeatures, size_t xLen, size_t wLen, int64_t biasLen, size_t weightScales,
                        LinearProblem& p);
struct ScanLengths { size_t u, delta, A, B, C; int64_t D, z, deltaBias; };  // optional ones: < 0 when absent
std::string checkScan(double channels, double length, double state, const ScanLengths& len, ScanProblem& p);
// Grid parameters: scales (finite, > 0), zero points, channel run length, integer range.
std::string checkGrid(const std::vector<double>& scales, const std::vector<double>& zeroPoints, double inner, double qmin, double qmax, GridParams& p);
// The flat index of a chunk's first element, and the chunk's length: start + n within kMaxIndex.
std::string checkChunk(double start, size_t n, int64_t& startOut);
// The overview's tiling (cols, rowsPerTile, colsPerTile, tileCols, tiles: positive integers) for
// positions start .. start + count - 1: every tile those positions fall in must exist. A position's
// tile is (row / rowsPerTile) * tileCols + col / colsPerTile, so the columns' tiles must fit in a
// tile row and every tile row up to the last position's must fit in `tiles` (at most 2^24).
// The fields are given in the order of kTilingFields, the options' names.
constexpr const char* kTilingFields[5] = {"cols", "rowsPerTile", "colsPerTile", "tileCols", "tiles"};
std::string checkTiling(const double (&fields)[5], int64_t start, int64_t count, TileGrid& g);

}  // namespace ql
