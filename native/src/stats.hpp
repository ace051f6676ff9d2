// Statistics of FP32 values (min, max, sum, mean, the sum of squared deviations, NaN and Inf
// counts), read straight from a file as verification reads it. The result does not depend on the
// number of threads: values are summed in fixed blocks of kStatsBlock elements counted from the
// first one, each block in two passes (its mean, then the squares about it), and the blocks merged
// in order by Chan et al.'s pairwise update, which is also what keeps the variance stable.
#pragma once
#include <cstdint>

namespace ql {

constexpr int64_t kStatsBlock = 1 << 16;

struct Stats {
  uint64_t n = 0, nan = 0, inf = 0;  // n: finite values, the only ones in the other figures
  double sum = 0, mean = 0, m2 = 0;  // m2: sum of (x - mean)^2
  float min = 0, max = 0;            // meaningful when n > 0
  void merge(const Stats& o);
};

// The statistics of x[0..n).
Stats statsOf(const float* x, int64_t n);

// The statistics of the `count` little-endian FP32 values at byte `byteOffset` of the open file
// `fd`, read by `threads` threads in blocks; the same result as statsOf over those values.
// Throws std::runtime_error naming the failure when the file cannot be read (or shrank).
Stats statsOfFileRegion(int fd, int64_t byteOffset, int64_t count, int threads);

}  // namespace ql
