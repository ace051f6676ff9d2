// Verification of a tensor's FP32 elements straight from the file that holds them: each thread
// reads its slice with pread into a buffer that stays in its cache and verifies it there, so the
// bytes cross memory once (no copy through JavaScript buffers, no second pass over a chunk).
// pread, not mmap: a file truncated by another process while it is verified is a short read and
// an error, never a SIGBUS that would take the extension host down.
#pragma once
#include <cstdint>
#include "grid.hpp"

namespace ql {

// Elements each thread reads and verifies at a time (256 KiB: fits the L2 of any core it runs on).
constexpr int64_t kFileBlockElements = 1 << 16;

// Verifies the `count` little-endian FP32 elements at byte `byteOffset` of the open file `fd`,
// the first of which has flat index `start`; the same results as verifyParallel over those values.
// Throws std::runtime_error naming the failure when the file cannot be read (or shrank).
void verifyFileRegion(int fd, int64_t byteOffset, int64_t count, int64_t start, const GridParams& p, GridAcc& acc, int threads);

// Reads `bytes` bytes at `offset` of `fd` into `into`, all of them, or throws as above.
void readFully(int fd, int64_t offset, int64_t bytes, void* into);

}  // namespace ql
