// The tensor viewer's whole-tensor overview (src/view/overview.ts) for FP32 values on a grid, read
// straight from the file: the picture (rows of `cols` positions, position = flat index) cut into
// tiles, each keeping its worst element by the viewer's severity, the largest deviation of its
// finite elements and how many problems it holds. Elements are classed exactly as
// src/view/elementGrid.ts classifyInto does; test/view/overview.test.ts checks the two agree.
#pragma once
#include <cstdint>
#include <vector>
#include "grid.hpp"

namespace ql {

// Element classes as indices into src/view/protocol.ts ELEMENT_CLASSES; kNoTileClass: an empty tile.
enum ViewClass : uint8_t { kViewExact = 0, kViewArtifact = 1, kViewOffGrid = 2, kViewNonFinite = 3, kViewCode = 4, kViewOutOfRange = 5 };
constexpr uint8_t kNoTileClass = 255;

struct TileGrid {
  int64_t cols = 1, rowsPerTile = 1, colsPerTile = 1, tileCols = 1, tiles = 1;
};

struct Tiles {
  std::vector<uint8_t> worst;
  std::vector<float> peak, atMeasure;  // atMeasure: the measure of the element at `at` (+inf when not finite)
  std::vector<double> at;              // -1: no element yet
  std::vector<uint32_t> problems;
  explicit Tiles(int64_t n = 0) : worst((size_t)n, kNoTileClass), peak((size_t)n, 0.0f), atMeasure((size_t)n, -1.0f), at((size_t)n, -1.0), problems((size_t)n, 0) {}
  // Adds `later`, whose elements all come after this one's (the viewer's order: first wins ties).
  void merge(const Tiles& later);
};

// The overview tiles of the `count` FP32 values at byte `byteOffset` of `fd`, positions start ...
// start + count - 1, on the grid of `p` (scales per run of `p.inner` elements, zero points, range).
// Throws std::runtime_error naming the failure when the file cannot be read (or shrank).
Tiles overviewOfFileRegion(int fd, int64_t byteOffset, int64_t count, int64_t start, const GridParams& p, const TileGrid& g, int threads);

}  // namespace ql
